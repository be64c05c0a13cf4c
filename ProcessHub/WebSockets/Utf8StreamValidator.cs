using System.Text.Unicode;

namespace ProcessHub.WebSockets;

/// <summary>
/// Incremental, fail-fast UTF-8 validation (RFC 3629 section 4) for a message that arrives in pieces:
/// a code point may be split across frames or across reads, and an invalid byte is reported as soon as
/// it arrives, not when the message completes (RFC 6455 8.1, Autobahn case 6.4).
/// </summary>
internal struct Utf8StreamValidator
{
    // Continuation bytes still owed by the code point in progress, and the allowed range of the next one.
    // The range is narrower than 0x80-0xBF only right after E0, ED, F0 and F4: that is what rules out
    // overlong forms, UTF-16 surrogates and code points above U+10FFFF.
    private int _pending;
    private byte _nextMin;
    private byte _nextMax;

    public readonly bool IsComplete => _pending == 0;

    public void Reset() => _pending = 0;

    /// <summary>Validates the next bytes; false at the first byte that cannot be part of valid UTF-8.</summary>
    public bool Append(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (_pending == 0)
            {
                // Whole code points go through the runtime's vectorized validator in one call; only a code point cut
                // off at the end of this piece is left for the byte-wise state machine below, which carries it over.
                var rest = bytes[i..];
                int complete = CompleteLength(rest);
                if (!Utf8.IsValid(rest[..complete]))
                {
                    return false;
                }
                i += complete;
                if (i == bytes.Length)
                {
                    return true;
                }
                if (!StartCodePoint(bytes[i]))
                {
                    return false;
                }
                i++;
                continue;
            }

            byte b = bytes[i];
            if (b < _nextMin || b > _nextMax)
            {
                return false;
            }
            _pending--;
            _nextMin = 0x80;
            _nextMax = 0xBF;
            i++;
        }
        return true;
    }

    /// <summary>
    /// The length of <paramref name="bytes"/> without a trailing code point that is cut off (at most 3 bytes). Only
    /// a well-formed lead byte that needs more bytes than remain is cut off; anything malformed stays in, for
    /// <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/> to reject.
    /// </summary>
    private static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.Length;
        for (int back = 1; back <= 3 && back <= end; back++)
        {
            byte b = bytes[end - back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // a continuation byte: keep looking for its lead
            }
            int needed = b switch
            {
                >= 0xC2 and <= 0xDF => 2,
                >= 0xE0 and <= 0xEF => 3,
                >= 0xF0 and <= 0xF4 => 4,
                _ => 0,
            };
            return needed > back ? end - back : end;
        }
        return end;
    }

    private bool StartCodePoint(byte lead)
    {
        _nextMin = 0x80;
        _nextMax = 0xBF;
        switch (lead)
        {
            case >= 0xC2 and <= 0xDF:
                _pending = 1;
                return true;
            case 0xE0:
                _pending = 2;
                _nextMin = 0xA0;
                return true;
            case 0xED:
                _pending = 2;
                _nextMax = 0x9F;
                return true;
            case >= 0xE1 and <= 0xEF:
                _pending = 2;
                return true;
            case 0xF0:
                _pending = 3;
                _nextMin = 0x90;
                return true;
            case 0xF4:
                _pending = 3;
                _nextMax = 0x8F;
                return true;
            case >= 0xF1 and <= 0xF3:
                _pending = 3;
                return true;
            default:
                // 0x80-0xC1 (stray continuation, overlong 2-byte lead) and 0xF5-0xFF never start a code point.
                return false;
        }
    }
}
