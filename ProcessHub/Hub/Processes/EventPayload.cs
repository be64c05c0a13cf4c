using System.Text.Json;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// The fields of an event's JSON that make a process's state (docs/protocol.md section 3.2): what a hub that did not
/// write the event needs to apply it (a shared engine), or a store needs to rebuild a state from its last event.
/// Raw JSON values are kept as sent.
/// </summary>
internal sealed class EventPayload
{
    public string? ProcessType { get; private set; }
    public string? Owner { get; private set; }
    public string? CancelledBy { get; private set; }
    public byte[]? Progress { get; private set; }
    public byte[]? Params { get; private set; }
    public byte[]? Result { get; private set; }
    public byte[]? Error { get; private set; }

    /// <summary>The event's <c>timestamp</c> (millisecond precision), if it parsed.</summary>
    public DateTimeOffset? Timestamp { get; private set; }

    /// <summary>
    /// Reads the top-level fields; null when the JSON is not UTF-8, not one object (with nothing after it), escapes a lone
    /// surrogate, is cut short or malformed, or has an
    /// <c>owner</c> or <c>process_type</c> that is neither a string nor null: an event no hub of this version wrote, which a shared
    /// engine skips rather than stop at (docs/protocol.md 11.3).
    /// </summary>
    public static EventPayload? Parse(ReadOnlySpan<byte> json)
    {
        // What IsSendable checks, less its own pass over the JSON: Read requires one object with nothing after it.
        if (!System.Text.Unicode.Utf8.IsValid(json) || LoneSurrogates.In(json))
        {
            return null;
        }
        try
        {
            return Read(json);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Utf8JsonReader throws on JSON that ends early or breaks its grammar; GetString on a token that is not a
            // string. Either way this is not an event this hub can take a state from.
            return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="json"/> may go to tabs as it is: UTF-8 (a text frame that is not would make every client
    /// fail its connection, RFC 6455 8.1, and meet it again at every replay; Utf8JsonReader leaves the insides of
    /// strings unchecked), no string that is invalid Unicode (an escaped lone surrogate, which the API refuses with 400
    /// and a client's reader throws on), and one JSON object with nothing after it. No string is allocated: a hub joining
    /// beside a million events checks each.
    /// </summary>
    public static bool IsSendable(ReadOnlySpan<byte> json) =>
        StoredJson.IsOneValue(json) && json.TrimStart(" \t\r\n"u8) is [(byte)'{', ..];

    private static EventPayload? Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        var payload = new EventPayload();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            reader.Read();
            int start = (int)reader.TokenStartIndex;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
            var raw = json[start..(int)reader.BytesConsumed];
            switch (name)
            {
                case "process_type":
                    payload.ProcessType = reader.GetString();
                    break;
                case "owner":
                    payload.Owner = reader.GetString();
                    break;
                case "cancelled_by":
                    payload.CancelledBy = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    break;
                case "progress":
                    payload.Progress = raw.ToArray();
                    break;
                case "params":
                    payload.Params = raw.ToArray();
                    break;
                case "result":
                    payload.Result = raw.ToArray();
                    break;
                case "error":
                    payload.Error = raw.ToArray();
                    break;
                case "timestamp":
                    payload.Timestamp = reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var at) ? at : null;
                    break;
            }
        }
        // One object and nothing after it but whitespace: the event goes to tabs as it is, so `{...}junk` or two
        // objects would reach them as a frame that is not JSON. Reading past the object throws on anything but
        // whitespace (a single value is all the reader allows), which Parse takes as unreadable.
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            return null;
        }
        return payload;
    }
}
