using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>
/// Lenient field reads: a missing or mistyped optional field is null, never an exception; so is any field of
/// something that is not an object (an answer whose body was HTML, empty or an array, from a proxy in between).
/// </summary>
internal static class JsonFields
{
    private static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object)
        {
            return obj.TryGetProperty(name, out value);
        }
        value = default;
        return false;
    }

    public static string? String(JsonElement obj, string name) =>
        TryGet(obj, name, out var value) && value.ValueKind == JsonValueKind.String ? Text(value) : null;

    /// <summary>
    /// A field shown as text whatever JSON it holds: a string as it is, a number, true/false, an object or an array as
    /// its compact JSON (as the dashboard shows it), null when absent or null. The hub keeps a producer's progress
    /// fields as sent (docs/protocol.md 1.4.2), so <c>"detail": 5</c> is allowed; read as a string only, it showed
    /// in <c>watch</c> as nothing while the page showed 5.
    /// </summary>
    public static string? Shown(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.String => Text(value),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => Compact(value),
        };
    }

    private static string Compact(JsonElement value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, JsonObjectBytes.WriterOptions))
        {
            value.WriteTo(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// A string value, with any escaped lone surrogate (<c>"\ud83d"</c>: a worker cut a text inside an emoji) read as
    /// U+FFFD. JSON allows it and System.Text.Json parses it, then throws when the string is read; a hub before
    /// 2026-12-01 forwarded such a progress text, and one worker's report ended every watcher that listed it.
    /// </summary>
    public static string Text(JsonElement value)
    {
        try
        {
            return value.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            return Unescape(value.GetRawText());
        }
    }

    // The literal with its quotes, as the reader validated it: every escape is well-formed.
    private static string Unescape(string literal)
    {
        var text = new StringBuilder(literal.Length);
        for (int i = 1; i < literal.Length - 1; i++)
        {
            char c = literal[i];
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }
            char escape = literal[++i];
            if (escape == 'u')
            {
                text.Append((char)int.Parse(literal.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 4;
                continue;
            }
            text.Append(escape switch { 'b' => '\b', 'f' => '\f', 'n' => '\n', 'r' => '\r', 't' => '\t', _ => escape });
        }
        for (int i = 0; i < text.Length; i++)
        {
            bool valid = char.IsHighSurrogate(text[i]) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) : !char.IsLowSurrogate(text[i]);
            if (valid && char.IsHighSurrogate(text[i]))
            {
                i++; // the pair's low half
            }
            else if (!valid)
            {
                text[i] = '\uFFFD';
            }
        }
        return text.ToString();
    }

    public static long? Long(JsonElement obj, string name) =>
        TryGet(obj, name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long number) ? number : null;

    public static bool? Bool(JsonElement obj, string name) =>
        TryGet(obj, name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    public static JsonElement? Value(JsonElement obj, string name) =>
        TryGet(obj, name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static DateTimeOffset? Time(JsonElement obj, string name) =>
        String(obj, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    public static TimeSpan Duration(JsonElement obj) =>
        Long(obj, "duration_ms") is { } ms ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
}
