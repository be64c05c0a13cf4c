using System.Buffers;
using System.Text;
using ProcessHub.Fuzz.Input;
using ProcessHub.Http;

namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// <see cref="HttpRequestParser.TryParse"/> over arbitrary bytes, as a connection drives it: after every read, parse
/// as many pipelined heads as the bytes hold with one reused <see cref="HttpRequest"/>. The same bytes are parsed
/// arriving whole and arriving in the fuzzer's chunks; both must give the same requests and the same final answer
/// (refused or waiting for more; of several faults in one head, which one is named may depend on how much had arrived,
/// since a bare line ending is refused as soon as it arrives).
/// Every answer is checked against what the parser promises (see <see cref="CheckParsed"/>).
/// </summary>
internal sealed class HttpHeadTarget : IFuzzTarget
{
    // Variant 0 is the server's limit; the small ones let short inputs reach "head too large".
    private static readonly int[] MaxHeadChoices = [16 * 1024, 64, 256, 1024];

    private static readonly KnownHeader[] Headers = Enum.GetValues<KnownHeader>();

    public string Name => "http-head";

    public void Run(ReadOnlySpan<byte> input)
    {
        var fuzz = FuzzInput.Parse(input);
        byte[] data = fuzz.Data.ToArray();
        int maxHead = MaxHeadChoices[fuzz.Variant];

        string whole = Drive(data, [data.Length], maxHead);
        int[] reads = fuzz.ReadLengths();
        if (reads.Length > 1)
        {
            string chunked = Drive(data, reads, maxHead);
            InvariantViolationException.Check(
                string.Equals(WithoutReason(whole), WithoutReason(chunked), StringComparison.Ordinal),
                $"the head parsed differently in {reads.Length} reads:\nwhole:   {whole}\nchunked: {chunked}");
        }
    }

    private static string WithoutReason(string outcome)
    {
        int at = outcome.LastIndexOf("rejected ", StringComparison.Ordinal);
        return at < 0 ? outcome : outcome[..(at + "rejected".Length)];
    }

    /// <summary>Feeds the reads in turn; returns every parsed request and how it ended, as text to compare.</summary>
    private static string Drive(byte[] data, int[] readLengths, int maxHead)
    {
        var outcome = new StringBuilder();
        var request = new HttpRequest();
        int consumed = 0;
        int received = 0;
        try
        {
            for (int read = 0; read < readLengths.Length; read++)
            {
                received += readLengths[read];
                while (true)
                {
                    var buffer = ReadSequence.Create(data, readLengths, read + 1, consumed);
                    long before = buffer.Length;
                    bool parsed = HttpRequestParser.TryParse(ref buffer, request, maxHead, out var rejection);
                    long taken = before - buffer.Length;
                    if (parsed)
                    {
                        CheckParsed(data.AsSpan(consumed, received - consumed), request, rejection, taken, maxHead);
                        string described = Describe(request);
                        CheckSameAsFreshRequest(data.AsSpan(consumed, (int)taken), described, maxHead);
                        outcome.Append(described).Append('\n');
                        consumed += (int)taken;
                        continue;
                    }
                    InvariantViolationException.Check(taken == 0, $"a refused or incomplete head consumed {taken} bytes");
                    if (rejection != RequestRejection.None)
                    {
                        InvariantViolationException.Check(
                            Enum.IsDefined(rejection) && rejection != RequestRejection.BodyTooLarge,
                            $"the head parser answered {rejection}");
                        return outcome.Append("rejected ").Append(rejection).ToString();
                    }
                    var pending = data.AsSpan(consumed, received - consumed);
                    InvariantViolationException.Check(pending[LeadingEmptyLines(pending)..].IndexOf("\r\n\r\n"u8) < 0, "a complete head was answered with 'need more data'");
                    InvariantViolationException.Check(pending.Length <= maxHead, $"{pending.Length} bytes without a head end exceed the limit of {maxHead} but were not refused");
                    break;
                }
            }
            return outcome.Append("need more data").ToString();
        }
        finally
        {
            request.ReturnBuffer();
        }
    }

    /// <summary>How many bytes of CRLF pairs <paramref name="pending"/> starts with: the empty lines a server ignores before a request line.</summary>
    private static int LeadingEmptyLines(ReadOnlySpan<byte> pending)
    {
        int at = 0;
        while (at + 1 < pending.Length && pending[at] == (byte)'\r' && pending[at + 1] == (byte)'\n')
        {
            at += 2;
        }
        return at;
    }

    // What a parsed head promises: the parser consumed exactly one head, up to and including the first blank line;
    // the request line and every known field hold only what RFC 9112 allows; every accessor works.
    private static void CheckParsed(ReadOnlySpan<byte> pending, HttpRequest request, RequestRejection rejection, long taken, int maxHead)
    {
        InvariantViolationException.Check(rejection == RequestRejection.None, $"parsed, yet rejected with {rejection}");
        InvariantViolationException.Check(taken > 0 && taken <= pending.Length, $"parsed, and consumed {taken} of {pending.Length} bytes");
        // RFC 9112 2.2: empty lines before the request line are ignored, and consumed with the head they precede.
        int skipped = LeadingEmptyLines(pending);
        InvariantViolationException.Check(taken == skipped + request.HeadLength, $"consumed {taken} bytes, but the head is {request.HeadLength} after {skipped} bytes of empty lines");
        InvariantViolationException.Check(taken <= maxHead, $"parsed a head of {taken} bytes over the limit of {maxHead}");
        int end = pending[skipped..].IndexOf("\r\n\r\n"u8);
        InvariantViolationException.Check(skipped + end + 4 == taken, $"the head ended at {taken}, the first blank line after the empty lines is at {skipped + end}");

        var method = request.Method;
        InvariantViolationException.Check(!method.IsEmpty && method.IndexOfAny(" \r\n"u8) < 0, "a method with whitespace or none");
        var path = request.Path;
        InvariantViolationException.Check(!path.IsEmpty && path[0] == (byte)'/', "a path that does not start with '/'");
        InvariantViolationException.Check(!path.Contains((byte)'?'), "a path holding the query");
        InvariantViolationException.Check(!path.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E), "a path with bytes outside visible ASCII");
        InvariantViolationException.Check(!request.Query.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E), "a query with bytes outside visible ASCII");
        InvariantViolationException.Check(!request.IsHttp11 || request.HasHeader(KnownHeader.Host), "HTTP/1.1 without Host");
        InvariantViolationException.Check(
            !request.HasHeader(KnownHeader.TransferEncoding) || !request.HasHeader(KnownHeader.ContentLength),
            "Transfer-Encoding together with Content-Length was accepted (RFC 9112 6.1: a request could be smuggled)");
        InvariantViolationException.Check(
            request.ContentLength == -1 ? !request.HasHeader(KnownHeader.ContentLength) : request.ContentLength >= 0 && request.HasHeader(KnownHeader.ContentLength),
            $"Content-Length {request.ContentLength} disagrees with the header's presence");
        foreach (var header in Headers)
        {
            var value = request.Header(header);
            InvariantViolationException.Check(value.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) < 0, $"{header} holds CR, LF or NUL");
            InvariantViolationException.Check(value.IsEmpty || (value[0] is not ((byte)' ' or (byte)'\t') && value[^1] is not ((byte)' ' or (byte)'\t')), $"{header} keeps surrounding whitespace");
            _ = request.HeaderString(header);
        }
        _ = request.KeepAlive;
        _ = request.MethodString;
        _ = request.PathString;
        _ = request.QueryParameter("token");
        _ = request.HeaderHasToken(KnownHeader.Connection, "upgrade"u8);
    }

    // A reused request must answer as a fresh one: nothing of the previous head may leak into the next.
    private static void CheckSameAsFreshRequest(ReadOnlySpan<byte> head, string described, int maxHead)
    {
        var fresh = new HttpRequest();
        try
        {
            var buffer = new ReadOnlySequence<byte>(head.ToArray());
            bool parsed = HttpRequestParser.TryParse(ref buffer, fresh, maxHead, out var rejection);
            InvariantViolationException.Check(parsed, $"the head alone was not parsed by a fresh request ({rejection})");
            string again = Describe(fresh);
            InvariantViolationException.Check(
                string.Equals(described, again, StringComparison.Ordinal),
                $"a reused request answered differently from a fresh one:\nreused: {described}\nfresh:  {again}");
        }
        finally
        {
            fresh.ReturnBuffer();
        }
    }

    private static string Describe(HttpRequest request)
    {
        var text = new StringBuilder()
            .Append(Encoding.Latin1.GetString(request.Method)).Append(' ')
            .Append(Encoding.Latin1.GetString(request.Path)).Append(" ?")
            .Append(Encoding.Latin1.GetString(request.Query))
            .Append(request.IsHttp11 ? " 1.1" : " 1.0")
            .Append(" head=").Append(request.HeadLength)
            .Append(" length=").Append(request.ContentLength);
        foreach (var header in Headers)
        {
            if (request.HasHeader(header))
            {
                text.Append(" [").Append(header).Append('=').Append(Encoding.Latin1.GetString(request.Header(header))).Append(']');
            }
        }
        return text.ToString();
    }
}
