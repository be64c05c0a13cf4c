using System.Text.Json;

namespace ProcessHub.Hub.Processes;

/// <summary>The wire names of the process events (docs/protocol.md section 3), defined once for JSON and for SSE.</summary>
internal static class HubEventNames
{
    private static readonly string[] Names = ["process_started", "process_progress", "process_completed", "process_failed", "process_cancelled"];
    private static readonly JsonEncodedText[] EncodedNames = Array.ConvertAll(Names, name => JsonEncodedText.Encode(name));

    /// <summary>The name as text (the SSE <c>event:</c> field).</summary>
    public static string Of(HubEventKind kind) => Names[(int)kind];

    /// <summary>The name pre-encoded for <see cref="Utf8JsonWriter"/> (the <c>type</c> field).</summary>
    public static JsonEncodedText Encoded(HubEventKind kind) => EncodedNames[(int)kind];

    public static bool IsTerminal(HubEventKind kind) => kind is HubEventKind.Completed or HubEventKind.Failed or HubEventKind.Cancelled;
}
