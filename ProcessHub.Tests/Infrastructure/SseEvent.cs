using System.Text.Json;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>One SSE event as framed on the wire: <c>id: seq</c>, <c>event: type</c>, <c>data: json</c>.</summary>
internal sealed record SseEvent(long Id, string Event, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;

    public bool IsTerminal => Event is "process_completed" or "process_failed" or "process_cancelled";
}
