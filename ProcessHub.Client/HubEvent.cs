using System.Text;
using System.Text.Json;
using ProcessHub.Client.Internal;

namespace ProcessHub.Client;

/// <summary>
/// Something a <see cref="HubWatcher"/> reports: a message from the hub (<see cref="ProcessListed"/>, the
/// <see cref="ProcessEvent"/> kinds, <see cref="HubError"/>, <see cref="UnknownHubMessage"/>) or a change of the
/// connection itself (<see cref="HubConnected"/>, <see cref="HubDisconnected"/>).
/// </summary>
public abstract class HubEvent
{
    private protected HubEvent(JsonElement? json) => Json = json;

    /// <summary>
    /// The hub's message as it arrived (a detached copy that needs no disposal), for fields this version does not
    /// model; null for <see cref="HubConnected"/> and <see cref="HubDisconnected"/>, which the watcher reports itself.
    /// </summary>
    public JsonElement? Json { get; }

    /// <summary>The hub's message as JSON text, exactly as it was sent; null where <see cref="Json"/> is null.</summary>
    public string? RawJson => Json?.GetRawText();

    /// <summary>
    /// Reads one hub message (the JSON of a WebSocket text frame, or the <c>data:</c> of a server-sent event, which is
    /// the same) into its typed event.
    /// </summary>
    /// <exception cref="JsonException">The text is not a JSON object.</exception>
    public static HubEvent Parse(ReadOnlySpan<byte> utf8Json) => HubMessageParser.Parse(utf8Json);

    /// <inheritdoc cref="Parse(ReadOnlySpan{byte})"/>
    public static HubEvent Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return HubMessageParser.Parse(Encoding.UTF8.GetBytes(json));
    }
}
