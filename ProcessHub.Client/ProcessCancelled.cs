using System.Text.Json;

namespace ProcessHub.Client;

/// <summary>
/// <c>process_cancelled</c>: someone cancelled a process. A producer inside the hub's own process (a
/// <c>ProcessHandle</c>) has its token fired by the hub; a worker on the HTTP API (a <see cref="ProcessRun"/>) is
/// told nothing until its next report or end, whose answer says it (HTTP has no push).
/// </summary>
public sealed class ProcessCancelled : ProcessEvent
{
    internal ProcessCancelled(JsonElement json, string processId, string processType, long seq, DateTimeOffset timestamp, string cancelledBy, TimeSpan duration)
        : base(json, processId, processType, seq, timestamp)
    {
        CancelledBy = cancelledBy;
        Duration = duration;
    }

    /// <summary>Who cancelled it (a JWT <c>sub</c>).</summary>
    public string CancelledBy { get; }

    /// <summary>How long it ran.</summary>
    public TimeSpan Duration { get; }
}
