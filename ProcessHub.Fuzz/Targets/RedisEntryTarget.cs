using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using ProcessHub.Hub.Processes;
using ProcessHub.Redis;

namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// What a hub reads under the Redis prefix, where another program or a newer hub version may have written
/// (docs/protocol.md 11.3): a log entry or published message through <see cref="RedisEventMessage.TryParse"/>, then
/// its event's JSON through <see cref="EventPayload.Parse"/>. The input is the message as Redis holds it; the JSON is
/// what follows the first newline (the whole input when there is none, so the fuzzer reaches the JSON parser without
/// a header too). Neither may throw. An accepted header has the scripts' shape (8 fields, then a newline), numbers in
/// range, and formats back, as the Lua scripts build it, to a header that parses to the same fields. An event is read
/// only from UTF-8 that is one JSON object and nothing after it, every string of it valid Unicode, and its owner and process type are what a strict JSON
/// parser reads; an event written as a hub writes it is read.
/// </summary>
internal sealed class RedisEntryTarget : IFuzzTarget
{
    // The event's JSON as EventPayload reads it (depth 64), but refusing what it may tolerate: a repeated name.
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    public string Name => "redis-entry";

    public void Run(ReadOnlySpan<byte> input)
    {
        int newline = input.IndexOf((byte)'\n');
        if (RedisEventMessage.TryParse(input.ToArray(), out var message))
        {
            CheckHeader(input, newline, message);
            CheckRoundTrip(message);
        }
        CheckEvent(newline < 0 ? input : input[(newline + 1)..]);
    }

    // Read independently of the parser: the bytes before the first newline, split at every space.
    private static void CheckHeader(ReadOnlySpan<byte> input, int newline, RedisEventMessage message)
    {
        InvariantViolationException.Check(newline >= 0, "accepted a message without a newline");
        string[] fields = Encoding.Latin1.GetString(input[..newline]).Split(' ');
        InvariantViolationException.Check(fields.Length == 8, $"accepted a header of {fields.Length} fields");
        InvariantViolationException.Check(message.Offset >= 1, $"accepted offset {message.Offset}");
        InvariantViolationException.Check(message.Seq >= 1, $"accepted seq {message.Seq}");
        InvariantViolationException.Check(Enum.IsDefined(message.Kind), $"accepted kind {(int)message.Kind}");
        InvariantViolationException.Check(message.At.Offset == TimeSpan.Zero, $"a time at offset {message.At.Offset}");
        InvariantViolationException.Check(
            Number(fields[1]) == message.Offset && Number(fields[3]) == message.Seq && Number(fields[4]) == (int)message.Kind && Number(fields[5]) == message.At.UtcTicks,
            $"the header '{fields[1]} {fields[3]} {fields[4]} {fields[5]}' became offset {message.Offset}, seq {message.Seq}, kind {(int)message.Kind}, ticks {message.At.UtcTicks}");
        InvariantViolationException.Check(message.InProcess == (fields[6] == "1"), $"in-process field '{fields[6]}' became {message.InProcess}");
        InvariantViolationException.Check((message.ProducerHub is null) == (fields[7] == "-"), $"producer hub field '{fields[7]}' became '{message.ProducerHub}'");
        InvariantViolationException.Check(message.Payload.Span.SequenceEqual(input[(newline + 1)..]), "the payload is not what follows the header");
    }

    // A field as a decimal number, as a hub writes it (and as a person reads a '+' or leading zeros).
    private static long? Number(string field) =>
        long.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value : null;

    // The fields written back as start.lua, progress.lua and end.lua write them must read as the same fields: the hub
    // passes these on (the epoch, the process id, the producer hub), so what it reads must be what it would write.
    private static void CheckRoundTrip(RedisEventMessage message)
    {
        string header = string.Join(' ',
            message.Epoch,
            message.Offset.ToString(CultureInfo.InvariantCulture),
            message.ProcessId,
            message.Seq.ToString(CultureInfo.InvariantCulture),
            ((int)message.Kind).ToString(CultureInfo.InvariantCulture),
            message.At.UtcTicks.ToString(CultureInfo.InvariantCulture),
            message.InProcess ? "1" : "0",
            message.ProducerHub ?? "-");
        byte[] written = [.. Encoding.UTF8.GetBytes(header), (byte)'\n', .. message.Payload.Span];
        InvariantViolationException.Check(RedisEventMessage.TryParse(written, out var again), $"refused its own fields written back: {header}");
        InvariantViolationException.Check(
            again with { Payload = default } == message with { Payload = default } && again.Payload.Span.SequenceEqual(message.Payload.Span),
            $"the fields written back read differently: {message with { Payload = default }} then {again with { Payload = default }}");
    }

    private static void CheckEvent(ReadOnlySpan<byte> json)
    {
        var payload = EventPayload.Parse(json);
        if (payload is null)
        {
            InvariantViolationException.Check(!IsAnEventAsAHubWritesIt(json), "refused an event as a hub writes it");
            return;
        }
        InvariantViolationException.Check(Utf8.IsValid(json), "read an event that is not UTF-8 (it goes to tabs as it is)");
        InvariantViolationException.Check(IsOneObjectWhoseStringsAllRead(json), "read an event that is not one JSON object alone, or whose strings do not all read (it goes to tabs as it is)");
        CheckNames(json, payload);
    }

    // One object and nothing after it but whitespace, every name and string of it valid Unicode (an escaped lone
    // surrogate makes a client's GetString throw): what a tab can read, checked by reading it all.
    private static bool IsOneObjectWhoseStringsAllRead(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                {
                    _ = reader.GetString();
                }
            }
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    // Owner and process type are what decide who sees a process and what it is: they must be the JSON's own, as a
    // strict parser reads the object the payload opens with (a repeated name has no one meaning, so that is not compared).
    private static void CheckNames(ReadOnlySpan<byte> json, EventPayload payload)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        int length;
        try
        {
            reader.Read();
            reader.Skip();
            length = (int)reader.BytesConsumed;
        }
        catch (JsonException ex)
        {
            throw new InvariantViolationException("read an event whose first object is malformed", ex);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json[..length].ToArray(), Strict);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return; // a repeated name, or a name no string can hold
        }
        using (document)
        {
            var root = document.RootElement;
            CheckName(root, "owner", payload.Owner);
            CheckName(root, "process_type", payload.ProcessType);
        }
    }

    private static void CheckName(JsonElement root, string name, string? read)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            InvariantViolationException.Check(read is null, $"read {name} '{read}' from an event without one");
            return;
        }
        InvariantViolationException.Check(value.ValueKind == JsonValueKind.String, $"read an event whose {name} is {value.ValueKind} (it skips those)");
        InvariantViolationException.Check(string.Equals(read, value.GetString(), StringComparison.Ordinal), $"read {name} '{read}' where the JSON says {value.GetRawText()}");
    }

    // What a hub writes: UTF-8, one JSON object and nothing after it, every name unique, every top-level name and
    // string readable, owner and process type strings or null. Such an event must be read, not skipped.
    private static bool IsAnEventAsAHubWritesIt(ReadOnlySpan<byte> json)
    {
        // A hub writes only valid Unicode, nested strings included (the API refuses a lone surrogate anywhere).
        if (!Utf8.IsValid(json) || !IsOneObjectWhoseStringsAllRead(json))
        {
            return false;
        }
        try
        {
            using var document = JsonDocument.Parse(json.ToArray(), Strict);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }
            foreach (var property in root.EnumerateObject())
            {
                bool named = property.Name is "owner" or "process_type";
                if (named && property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                {
                    return false;
                }
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    _ = property.Value.GetString();
                }
            }
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
