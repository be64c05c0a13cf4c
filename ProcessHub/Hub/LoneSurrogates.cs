using System.Text.Json;

namespace ProcessHub.Hub;

/// <summary>
/// Finds a string in a JSON text that is no valid Unicode: an escaped lone surrogate (<c>"\ud83d"</c>, what a worker
/// that cuts a text in the middle of an emoji sends). RFC 8259 8.2 lets a parser accept it, and System.Text.Json
/// does, until the string is read: then it throws, in the hub or in a client that reads the event (the .NET client
/// and <c>watch</c> did, for every later list that held it). So the API refuses such a body with 400, as the
/// WebSocket does a message (<see cref="Hub.Messages.ClientMessage"/>).
/// </summary>
internal static class LoneSurrogates
{
    /// <summary>True when a string or property name of <paramref name="json"/> (a valid JSON text) escapes a lone surrogate.</summary>
    public static bool In(ReadOnlySpan<byte> json)
    {
        if (json.IndexOf("\\u"u8) < 0)
        {
            return false; // no \u escape at all (nearly every body): no second pass over it
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            while (reader.Read())
            {
                // Unescaped text is UTF-8 JsonBody has checked; only \u escapes can spell a surrogate.
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped && InEscaped(reader.ValueSpan))
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Not for this check to say: the parse that follows refuses the text.
        }
        return false;
    }

    /// <summary>True when the escaped string <paramref name="raw"/> (as between its quotes) has a surrogate escape without its pair.</summary>
    internal static bool InEscaped(ReadOnlySpan<byte> raw)
    {
        bool awaitingLow = false;
        for (int i = 0; i < raw.Length; i++)
        {
            bool unicodeEscape = raw[i] == '\\' && i + 5 < raw.Length && raw[i + 1] == 'u';
            if (!unicodeEscape)
            {
                if (awaitingLow)
                {
                    return true;
                }
                if (raw[i] == '\\')
                {
                    i++; // a two-character escape: \" \\ \/ \b \f \n \r \t
                }
                continue;
            }
            int code = Hex(raw[i + 2]) << 12 | Hex(raw[i + 3]) << 8 | Hex(raw[i + 4]) << 4 | Hex(raw[i + 5]);
            i += 5;
            if (code is >= 0xD800 and <= 0xDBFF)
            {
                if (awaitingLow)
                {
                    return true;
                }
                awaitingLow = true;
            }
            else if (code is >= 0xDC00 and <= 0xDFFF)
            {
                if (!awaitingLow)
                {
                    return true;
                }
                awaitingLow = false;
            }
            else if (awaitingLow)
            {
                return true;
            }
        }
        return awaitingLow;
    }

    // The reader has checked that each of the four is a hex digit.
    private static int Hex(byte digit) => digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10;
}
