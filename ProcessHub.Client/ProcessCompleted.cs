using System.Text.Json;

namespace ProcessHub.Client;

/// <summary><c>process_completed</c>: a process finished successfully.</summary>
public sealed class ProcessCompleted : ProcessEvent
{
    internal ProcessCompleted(JsonElement json, string processId, string processType, long seq, DateTimeOffset timestamp, JsonElement? result, TimeSpan duration)
        : base(json, processId, processType, seq, timestamp)
    {
        Result = result;
        Duration = duration;
    }

    /// <summary>The producer's result, when it gave one.</summary>
    public JsonElement? Result { get; }

    /// <summary>How long it ran.</summary>
    public TimeSpan Duration { get; }
}
