using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace ProcessHub.Http;

/// <summary>
/// RFC 9112 request-line and field parsing over a <see cref="ReadOnlySequence{T}"/>. The head is located first
/// (it may be split across any number of segments and reads), copied once into the request's pooled buffer, then
/// parsed as one span: no strings, no Regex, no allocation. "Need more data" is a return value, never an exception.
/// </summary>
internal static class HttpRequestParser
{
    private static ReadOnlySpan<byte> EndOfHead => "\r\n\r\n"u8;

    private static SearchValues<byte> TokenChars => HttpSyntax.TokenChars;

    private static SearchValues<byte> FieldValueChars => HttpSyntax.FieldValueChars;

    // Request-target bytes we accept: visible ASCII but for '"', '#', '<' and '>', which no client sends raw (the
    // WHATWG URL standard's query percent-encode set, which browsers apply to paths too): '#' starts a fragment, which
    // stays in the client, and a target carrying one is read differently by each parser on the way. The rest of what
    // RFC 3986 leaves out ('{', '|', '^', '[', ...) is taken, since browsers send it unescaped in queries.
    private static readonly SearchValues<byte> TargetChars = SearchValues.Create(
        [.. HttpSyntax.CreateRange(0x21, 0x7E).Where(b => b is not ((byte)'"' or (byte)'#' or (byte)'<' or (byte)'>'))]);

    /// <summary>
    /// Tries to parse one request head from the start of <paramref name="buffer"/>. True: parsed, and
    /// <paramref name="buffer"/> now starts after it. False with <see cref="RequestRejection.None"/>: need more data.
    /// False with a rejection: the request is refused.
    /// </summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, HttpRequest request, int maxHeadBytes, out RequestRejection rejection)
    {
        if (TryParseHead(ref buffer, request, maxHeadBytes, out rejection))
        {
            return true;
        }
        // A refused head consumed nothing: whether it was a HEAD is read from its first bytes, so that the refusal is
        // a head alone (RFC 9110 9.3.2) whichever part of it was wrong.
        request.RefusedHeadWasHead = rejection != RequestRejection.None && BeginsWithHead(buffer);
        return false;
    }

    /// <summary>Whether what the client sent (after any empty lines) begins with the method <c>HEAD</c>.</summary>
    public static bool BeginsWithHead(ReadOnlySequence<byte> buffer) => new SequenceReader<byte>(SkipEmptyLines(buffer)).IsNext("HEAD "u8);

    private static bool TryParseHead(ref ReadOnlySequence<byte> buffer, HttpRequest request, int maxHeadBytes, out RequestRejection rejection)
    {
        rejection = RequestRejection.None;
        // RFC 9112 2.2: empty lines before a request line are ignored (a client's stray CRLF after the body of the
        // request before it). Skipped with the head it comes before, so the head's offsets start at its request line;
        // a refused or incomplete head consumes nothing, as always.
        var rest = SkipEmptyLines(buffer);
        var reader = new SequenceReader<byte>(rest);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, EndOfHead, advancePastDelimiter: true))
        {
            if (buffer.Length > maxHeadBytes) // the empty lines count: a stream of them is refused like any long head
            {
                rejection = RequestRejection.HeadTooLarge;
            }
            else if (HasBareLineEnding(rest))
            {
                // A head with bare LF (or CR) line endings never reaches the CRLF CRLF that ends it: say so now,
                // not when the head timeout closes the connection in silence.
                rejection = RequestRejection.BareLineEnding;
            }
            return false;
        }
        int headLength = (int)Math.Min(int.MaxValue, reader.Consumed);
        if (headLength + (buffer.Length - rest.Length) > maxHeadBytes)
        {
            rejection = RequestRejection.HeadTooLarge;
            return false;
        }

        // Keep the line ending of the last header so every line parses the same way.
        var span = request.PrepareHead(headLength);
        rest.Slice(0, headLength).CopyTo(span);
        rejection = Parse(span[..(int)(head.Length + 2)], request);
        if (rejection != RequestRejection.None)
        {
            return false;
        }
        buffer = rest.Slice(headLength);
        return true;
    }

    /// <summary>True for an empty buffer or one of CRLFs only: what a client may leave after its last request.</summary>
    public static bool IsOnlyEmptyLines(ReadOnlySequence<byte> buffer) => SkipEmptyLines(buffer).IsEmpty;

    // What follows the CRLFs at the start of buffer.
    private static ReadOnlySequence<byte> SkipEmptyLines(ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[2];
        while (buffer.Length >= 2)
        {
            buffer.Slice(0, 2).CopyTo(start);
            if (start[0] != (byte)'\r' || start[1] != (byte)'\n')
            {
                break;
            }
            buffer = buffer.Slice(2);
        }
        return buffer;
    }

    private static RequestRejection Parse(ReadOnlySpan<byte> head, HttpRequest request)
    {
        // Lines end at LF, and every LF must follow a CR (RFC 9112 2.2: we do not take a bare LF as a line end, so a
        // proxy in front that does cannot see different requests than we do). A bare CR is left inside its line,
        // where the field checks refuse it; only then is the rejection told apart as a line-ending one.
        int offset = 0;
        bool requestLine = true;
        while (offset < head.Length)
        {
            var rest = head[offset..];
            int lineFeed = rest.IndexOf((byte)'\n');
            if (lineFeed <= 0 || rest[lineFeed - 1] != (byte)'\r')
            {
                return RequestRejection.BareLineEnding;
            }
            var line = rest[..(lineFeed - 1)];
            var rejection = requestLine ? ParseRequestLine(line, request) : ParseHeaderLine(line, offset, request);
            if (rejection != RequestRejection.None)
            {
                return line.Contains((byte)'\r') ? RequestRejection.BareLineEnding : rejection;
            }
            requestLine = false;
            offset += lineFeed + 1;
        }

        if (request.IsHttp11 && !request.HasHeader(KnownHeader.Host))
        {
            return RequestRejection.MissingHost; // RFC 9112 3.2
        }
        return ReadBodyFraming(request);
    }

    // RFC 9112 6.1-6.3 and RFC 9110 10.1.1: how the body is delimited, and whether the client waits for 100 Continue.
    private static RequestRejection ReadBodyFraming(HttpRequest request)
    {
        bool chunked = false;
        if (request.HasHeader(KnownHeader.TransferEncoding))
        {
            if (request.ContentLength >= 0)
            {
                // Two framings: a proxy in front may pick the other one, and the rest of the bytes become a smuggled
                // request. RFC 9112 6.1 allows rejecting; we always do.
                return RequestRejection.TransferEncodingWithContentLength;
            }
            if (!request.IsHttp11)
            {
                return RequestRejection.InvalidTransferEncoding; // RFC 9112 6.1: in HTTP/1.0 the framing is faulty
            }
            var coding = ReadTransferCoding(request.Header(KnownHeader.TransferEncoding));
            if (coding != RequestRejection.None)
            {
                return coding;
            }
            chunked = true;
        }

        bool expectsContinue = false;
        if (request.IsHttp11 && request.HasHeader(KnownHeader.Expect))
        {
            // HTTP/1.0: an expectation MUST be ignored. HTTP/1.1: 100-continue is the only one defined; others get 417.
            if (!Ascii.EqualsIgnoreCase(request.Header(KnownHeader.Expect), "100-continue"u8))
            {
                return RequestRejection.UnsupportedExpectation;
            }
            expectsContinue = true;
        }
        request.SetBodyFraming(chunked, expectsContinue);
        return RequestRejection.None;
    }

    /// <summary>
    /// The only coding list accepted is <c>chunked</c> (empty list elements aside). chunked must come last and once
    /// (RFC 9112 6.3, 7): otherwise 400. A coding before it (gzip, chunked) is well-formed but not implemented: 501.
    /// </summary>
    private static RequestRejection ReadTransferCoding(ReadOnlySpan<byte> value)
    {
        int codings = 0;
        int chunkedCount = 0;
        bool lastIsChunked = false;
        while (!value.IsEmpty)
        {
            int comma = value.IndexOf((byte)',');
            var item = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
            value = comma < 0 ? default : value[(comma + 1)..];
            if (item.IsEmpty)
            {
                continue;
            }
            codings++;
            lastIsChunked = Ascii.EqualsIgnoreCase(item, "chunked"u8);
            chunkedCount += lastIsChunked ? 1 : 0;
        }
        if (!lastIsChunked || chunkedCount != 1)
        {
            return RequestRejection.InvalidTransferEncoding;
        }
        return codings == 1 ? RequestRejection.None : RequestRejection.UnsupportedTransferCoding;
    }

    /// <summary>True when a CR is followed by anything but LF, or an LF follows anything but CR. A CR at the very end may still be followed by its LF.</summary>
    private static bool HasBareLineEnding(in ReadOnlySequence<byte> buffer)
    {
        bool afterCarriageReturn = false;
        foreach (var memory in buffer)
        {
            var span = memory.Span;
            while (!span.IsEmpty)
            {
                if (afterCarriageReturn)
                {
                    if (span[0] != (byte)'\n')
                    {
                        return true;
                    }
                    afterCarriageReturn = false;
                    span = span[1..];
                    continue;
                }
                int at = span.IndexOfAny((byte)'\r', (byte)'\n');
                if (at < 0)
                {
                    break;
                }
                if (span[at] == (byte)'\n')
                {
                    return true;
                }
                afterCarriageReturn = true;
                span = span[(at + 1)..];
            }
        }
        return false;
    }

    // RFC 9112 3: request-line = method SP request-target SP HTTP-version
    private static RequestRejection ParseRequestLine(ReadOnlySpan<byte> line, HttpRequest request)
    {
        int firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0 || line[..firstSpace].ContainsAnyExcept(TokenChars))
        {
            return RequestRejection.InvalidRequestLine;
        }
        var afterMethod = line[(firstSpace + 1)..];
        int secondSpace = afterMethod.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            return RequestRejection.InvalidRequestLine;
        }
        var target = afterMethod[..secondSpace];
        var version = afterMethod[(secondSpace + 1)..];
        if (target[0] != (byte)'/' || target.ContainsAnyExcept(TargetChars))
        {
            return RequestRejection.InvalidRequestTarget; // origin-form only; no absolute-form or '*'
        }
        bool isHttp11;
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            isHttp11 = true;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            isHttp11 = false;
        }
        else
        {
            return version.StartsWith("HTTP/"u8) && version.Length == 8
                ? RequestRejection.UnsupportedHttpVersion
                : RequestRejection.InvalidRequestLine;
        }

        int targetStart = firstSpace + 1;
        int question = target.IndexOf((byte)'?');
        var path = new ByteRange(targetStart, question < 0 ? target.Length : question);
        var query = question < 0 ? default : new ByteRange(targetStart + question + 1, target.Length - question - 1);
        request.SetRequestLine(new ByteRange(0, firstSpace), path, query, isHttp11);
        return RequestRejection.None;
    }

    // RFC 9112 5: field-line = field-name ":" OWS field-value OWS; no whitespace before the colon, no obs-fold.
    private static RequestRejection ParseHeaderLine(ReadOnlySpan<byte> line, int lineStart, HttpRequest request)
    {
        int colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return RequestRejection.InvalidHeaderLine;
        }
        var name = line[..colon];
        if (name.ContainsAnyExcept(TokenChars))
        {
            return RequestRejection.InvalidHeaderLine; // also catches obs-fold and "Name :" forms
        }
        var rawValue = line[(colon + 1)..];
        if (rawValue.ContainsAnyExcept(FieldValueChars))
        {
            return RequestRejection.InvalidHeaderLine;
        }
        int leading = rawValue.Length - rawValue.TrimStart(" \t"u8).Length;
        var value = rawValue.Trim(" \t"u8);
        var range = new ByteRange(lineStart + colon + 1 + leading, value.Length);

        if (!TryIdentify(name, out var known))
        {
            return RequestRejection.None;
        }
        if (known == KnownHeader.Host)
        {
            // RFC 9112 3.2: a 400 for more than one Host line (even equal ones) or a value that is not a host.
            if (request.HasHeader(KnownHeader.Host))
            {
                return RequestRejection.DuplicateHost;
            }
            if (!HostHeader.TryGetHost(value, out _))
            {
                return RequestRejection.InvalidHost;
            }
        }
        if (known == KnownHeader.TransferEncoding && request.HasHeader(KnownHeader.TransferEncoding))
        {
            return RequestRejection.InvalidTransferEncoding; // one line only: a split list is where parsers disagree
        }
        if (known == KnownHeader.ContentLength)
        {
            // RFC 9112 6.3: a Content-Length that is not one decimal number (or repeats differently) is an error.
            if (!Utf8Parser.TryParse(value, out long length, out int consumed) || consumed != value.Length || length < 0 || value.IsEmpty || value[0] is (byte)'+' or (byte)'-')
            {
                return RequestRejection.InvalidContentLength;
            }
            if (request.ContentLength >= 0 && request.ContentLength != length)
            {
                return RequestRejection.InvalidContentLength;
            }
            request.SetContentLength(length);
        }
        if (!request.SetHeader(known, range) && known != KnownHeader.ContentLength)
        {
            // One reading of every request (docs/protocol.md 1.2). A list header may come as several lines, which
            // are one list (RFC 9110 5.3): each line is kept. Any other header the hub reads may come once: a second
            // line used to replace the first, and two Sec-WebSocket-Key lines (RFC 6455 4.1: once) were taken.
            // Content-Length may repeat its one value (checked above).
            bool isList = known is KnownHeader.Connection or KnownHeader.Upgrade or KnownHeader.Accept or KnownHeader.IfNoneMatch;
            if (isList && request.AddRepeat(known, range))
            {
                return RequestRejection.None;
            }
            request.RepeatedHeader = known; // named in the refusal: a client sees which of its headers to send once
            return RequestRejection.RepeatedHeader;
        }
        return RequestRejection.None;
    }

    private static bool TryIdentify(ReadOnlySpan<byte> name, out KnownHeader header)
    {
        // Compare by length first: most names are rejected without touching their bytes.
        header = default;
        switch (name.Length)
        {
            case 4 when Ascii.EqualsIgnoreCase(name, "Host"u8):
                header = KnownHeader.Host;
                return true;
            case 6 when Ascii.EqualsIgnoreCase(name, "Origin"u8):
                header = KnownHeader.Origin;
                return true;
            case 6 when Ascii.EqualsIgnoreCase(name, "Accept"u8):
                header = KnownHeader.Accept;
                return true;
            case 6 when Ascii.EqualsIgnoreCase(name, "Expect"u8):
                header = KnownHeader.Expect;
                return true;
            case 7 when Ascii.EqualsIgnoreCase(name, "Upgrade"u8):
                header = KnownHeader.Upgrade;
                return true;
            case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                header = KnownHeader.Connection;
                return true;
            case 12 when Ascii.EqualsIgnoreCase(name, "Content-Type"u8):
                header = KnownHeader.ContentType;
                return true;
            case 13 when Ascii.EqualsIgnoreCase(name, "Authorization"u8):
                header = KnownHeader.Authorization;
                return true;
            case 13 when Ascii.EqualsIgnoreCase(name, "Last-Event-ID"u8):
                header = KnownHeader.LastEventId;
                return true;
            case 13 when Ascii.EqualsIgnoreCase(name, "If-None-Match"u8):
                header = KnownHeader.IfNoneMatch;
                return true;
            case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                header = KnownHeader.ContentLength;
                return true;
            case 15 when Ascii.EqualsIgnoreCase(name, "Idempotency-Key"u8):
                header = KnownHeader.IdempotencyKey;
                return true;
            case 17 when Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Key"u8):
                header = KnownHeader.SecWebSocketKey;
                return true;
            case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                header = KnownHeader.TransferEncoding;
                return true;
            case 21 when Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Version"u8):
                header = KnownHeader.SecWebSocketVersion;
                return true;
            default:
                return false;
        }
    }
}
