using System.Text;
using System.Text.Json;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// One text message as the client received it: the exact payload bytes (serialize-once compares them) and the parsed
/// JSON (everything else reads fields), parsed when first asked for and cloned so it outlives the document.
/// </summary>
internal sealed class HubMessage
{
    private JsonElement? _root;

    public HubMessage(byte[] raw) => Raw = raw;

    public byte[] Raw { get; }

    public JsonElement Root => _root ??= Parse(Raw);

    public string? Type => String("type");

    public string? ProcessId => String("process_id");

    /// <summary>The event's seq; throws when the message has none, so a wrong message fails loudly.</summary>
    public long Seq => Root.GetProperty("seq").GetInt64();

    public bool IsProcessEvent => Type is "process_started" or "process_progress" or "process_completed" or "process_failed" or "process_cancelled";

    public bool IsTerminal => Type is "process_completed" or "process_failed" or "process_cancelled";

    public string? String(string name) =>
        Root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public bool Has(string name) => Root.TryGetProperty(name, out _);

    public JsonElement Get(string name) => Root.GetProperty(name);

    /// <summary>The payload as text, exactly as sent.</summary>
    public string Text => Encoding.UTF8.GetString(Raw);

    public override string ToString() => Text;

    private static JsonElement Parse(byte[] raw)
    {
        using var document = JsonDocument.Parse(raw);
        return document.RootElement.Clone();
    }
}
