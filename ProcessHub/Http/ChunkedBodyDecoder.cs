using System.Buffers;

namespace ProcessHub.Http;

/// <summary>
/// Decodes a chunked request body (RFC 9112 7.1) as it arrives, over reads cut anywhere. The body limit applies to
/// the decoded bytes and is checked at each chunk-size line, before the chunk's data is read (413). Chunk extensions
/// and trailer fields are checked for syntax and otherwise ignored. Every line ends with CRLF: a bare LF or CR is a
/// 400, as in the head (HttpRequestParser), so no proxy can read the body's end elsewhere than we do.
/// </summary>
internal sealed class ChunkedBodyDecoder
{
    /// <summary>A chunk-size line with its extensions, CRLF included; longer is a 400 (no client needs more).</summary>
    public const int MaxChunkLineBytes = 4096;

    private readonly long _maxBodyBytes;
    private readonly int _maxTrailerBytes;
    private State _state;
    private long _bodyLength;
    private long _chunkRemaining;
    private int _trailerBytes;

    /// <param name="maxBodyBytes">Decoded bytes allowed in all (413 past it).</param>
    /// <param name="maxTrailerBytes">Bytes the trailer section may take, CRLFs included (431 past it).</param>
    public ChunkedBodyDecoder(long maxBodyBytes, int maxTrailerBytes)
    {
        _maxBodyBytes = maxBodyBytes;
        _maxTrailerBytes = maxTrailerBytes;
    }

    private enum State : byte
    {
        SizeLine,
        Data,
        DataEnd,
        Trailers,
        Done,
    }

    /// <summary>True once the last chunk and the trailer section have been read.</summary>
    public bool IsComplete => _state == State.Done;

    /// <summary>
    /// Consumes what it can of <paramref name="buffer"/>, writing chunk data to <paramref name="body"/>; on return
    /// <paramref name="buffer"/> starts at the first byte not consumed (after a complete body: the next request). False
    /// with a rejection when the body is malformed or too large; true otherwise (see <see cref="IsComplete"/>).
    /// </summary>
    public bool TryDecode(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> body, out RequestRejection rejection)
    {
        rejection = RequestRejection.None;
        while (true)
        {
            switch (_state)
            {
                case State.SizeLine:
                    if (!TryReadLine(ref buffer, MaxChunkLineBytes, RequestRejection.InvalidChunkedBody, out var sizeLine, out rejection))
                    {
                        return rejection == RequestRejection.None;
                    }
                    rejection = ReadSizeLine(sizeLine);
                    if (rejection != RequestRejection.None)
                    {
                        return false;
                    }
                    break;

                case State.Data:
                    if (buffer.IsEmpty)
                    {
                        return true;
                    }
                    CopyData(ref buffer, body);
                    break;

                case State.DataEnd:
                    // RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF. A wrong byte is refused as
                    // soon as it arrives; a CR alone waits for its LF.
                    var end = new SequenceReader<byte>(buffer);
                    if (!end.TryRead(out byte first))
                    {
                        return true;
                    }
                    if (first != (byte)'\r' || (end.TryRead(out byte second) && second != (byte)'\n'))
                    {
                        rejection = RequestRejection.InvalidChunkedBody;
                        return false;
                    }
                    if (end.Consumed < 2)
                    {
                        return true;
                    }
                    buffer = buffer.Slice(2);
                    _state = State.SizeLine;
                    break;

                case State.Trailers:
                    if (!TryReadLine(ref buffer, _maxTrailerBytes - _trailerBytes, RequestRejection.TrailersTooLarge, out var field, out rejection))
                    {
                        return rejection == RequestRejection.None;
                    }
                    if (field.IsEmpty)
                    {
                        _state = State.Done; // the CRLF that ends the trailer section, and the message
                        return true;
                    }
                    _trailerBytes += (int)field.Length + 2;
                    if (!IsFieldLine(field))
                    {
                        rejection = RequestRejection.InvalidChunkedBody;
                        return false;
                    }
                    break;

                default:
                    return true;
            }
        }
    }

    private void CopyData(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> body)
    {
        var data = buffer.Slice(0, Math.Min(buffer.Length, _chunkRemaining));
        foreach (var segment in data)
        {
            body.Write(segment.Span);
        }
        _chunkRemaining -= data.Length;
        buffer = buffer.Slice(data.Length);
        if (_chunkRemaining == 0)
        {
            _state = State.DataEnd;
        }
    }

    /// <summary>
    /// One CRLF-terminated line (without its CRLF). False with no rejection: the line has not ended yet. A line (or a
    /// partial one) longer than <paramref name="maxBytes"/> with its CRLF is <paramref name="tooLong"/>.
    /// </summary>
    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, int maxBytes, RequestRejection tooLong, out ReadOnlySequence<byte> line, out RequestRejection rejection)
    {
        rejection = RequestRejection.None;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out line, (byte)'\n'))
        {
            if (buffer.Length > maxBytes - 1)
            {
                rejection = tooLong; // even its LF would not fit
            }
            return false;
        }
        if (line.Length + 1 > maxBytes)
        {
            rejection = tooLong;
            return false;
        }
        if (line.IsEmpty || !EndsWithCarriageReturn(line))
        {
            rejection = RequestRejection.InvalidChunkedBody; // a bare LF
            return false;
        }
        line = line.Slice(0, line.Length - 1);
        if (line.PositionOf((byte)'\r') is not null)
        {
            rejection = RequestRejection.InvalidChunkedBody; // a bare CR
            return false;
        }
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    private static bool EndsWithCarriageReturn(in ReadOnlySequence<byte> line) => line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r';

    // chunk-size [ chunk-ext ]; the line is at most MaxChunkLineBytes, so a copy to the stack is cheap when it is split.
    private RequestRejection ReadSizeLine(in ReadOnlySequence<byte> sequence)
    {
        Span<byte> copy = stackalloc byte[MaxChunkLineBytes];
        ReadOnlySpan<byte> line = sequence.IsSingleSegment ? sequence.FirstSpan : copy[..(int)sequence.Length];
        if (!sequence.IsSingleSegment)
        {
            sequence.CopyTo(copy);
        }

        // chunk-size = 1*HEXDIG. The sum is checked against the limit at every digit, so it cannot overflow, and a
        // size past the limit is a 413 however many digits it has.
        long budget = _maxBodyBytes - _bodyLength;
        long size = 0;
        int digits = 0;
        while (digits < line.Length && HexValue(line[digits]) is int digit and >= 0)
        {
            size = (size * 16) + digit;
            if (size > budget)
            {
                return RequestRejection.BodyTooLarge;
            }
            digits++;
        }
        if (digits == 0 || !IsValidExtension(line[digits..]))
        {
            return RequestRejection.InvalidChunkedBody;
        }

        _bodyLength += size;
        _chunkRemaining = size;
        _state = size == 0 ? State.Trailers : State.Data;
        return RequestRejection.None;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// RFC 9112 7.1.1: <c>chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )</c>, a name a
    /// token and a value a token or a quoted-string. Read only to be sure where the line ends; the values are ignored.
    /// </summary>
    private static bool IsValidExtension(ReadOnlySpan<byte> rest)
    {
        while (!rest.IsEmpty)
        {
            rest = rest.TrimStart(HttpSyntax.Whitespace);
            if (rest.IsEmpty || rest[0] != (byte)';')
            {
                return false;
            }
            rest = rest[1..].TrimStart(HttpSyntax.Whitespace);
            int name = TokenLength(rest);
            if (name == 0)
            {
                return false;
            }
            rest = rest[name..];
            var afterName = rest.TrimStart(HttpSyntax.Whitespace);
            if (afterName.IsEmpty || afterName[0] != (byte)'=')
            {
                rest = afterName;
                continue;
            }
            rest = afterName[1..].TrimStart(HttpSyntax.Whitespace);
            int value = !rest.IsEmpty && rest[0] == (byte)'"' ? QuotedStringLength(rest) : TokenLength(rest);
            if (value == 0)
            {
                return false;
            }
            rest = rest[value..];
        }
        return true;
    }

    private static int TokenLength(ReadOnlySpan<byte> text)
    {
        int end = text.IndexOfAnyExcept(HttpSyntax.TokenChars);
        return end < 0 ? text.Length : end;
    }

    // RFC 9110 5.6.4: DQUOTE *( qdtext / quoted-pair ) DQUOTE; 0 when it does not close or holds a control byte.
    private static int QuotedStringLength(ReadOnlySpan<byte> text)
    {
        for (int i = 1; i < text.Length; i++)
        {
            byte b = text[i];
            if (b == (byte)'"')
            {
                return i + 1;
            }
            if (b == (byte)'\\')
            {
                i++;
                if (i == text.Length)
                {
                    return 0;
                }
                b = text[i];
            }
            if (!HttpSyntax.FieldValueChars.Contains(b))
            {
                return 0;
            }
        }
        return 0;
    }

    // RFC 9112 5: field-name ":" OWS field-value OWS, with no whitespace before the colon and no obs-fold.
    private static bool IsFieldLine(in ReadOnlySequence<byte> sequence)
    {
        if (sequence.Length > int.MaxValue)
        {
            return false;
        }
        byte[]? rented = sequence.IsSingleSegment ? null : ArrayPool<byte>.Shared.Rent((int)sequence.Length);
        try
        {
            ReadOnlySpan<byte> line = rented is null ? sequence.FirstSpan : rented.AsSpan(0, (int)sequence.Length);
            if (rented is not null)
            {
                sequence.CopyTo(rented);
            }
            int colon = line.IndexOf((byte)':');
            return colon > 0 && !line[..colon].ContainsAnyExcept(HttpSyntax.TokenChars) && !line[(colon + 1)..].ContainsAnyExcept(HttpSyntax.FieldValueChars);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
