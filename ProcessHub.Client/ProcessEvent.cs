using System.Text.Json;

namespace ProcessHub.Client;

/// <summary>
/// An event of one process. Per process, a watcher yields them in <see cref="Seq"/> order and never twice, across
/// reconnects too; a jump in <see cref="Seq"/> means progress the hub coalesced for a slow reader (only
/// <see cref="ProcessProgress"/> is skipped on a connection). After a reconnect that did not recover everything
/// (<see cref="HubConnected.Recovered"/> false: history gone, more than 50 processes to resume, a replay too large to
/// queue), the events missed meanwhile, a process's start and end included, may not come at all: the
/// <see cref="ProcessListed"/> that comes with it has every process's state.
/// </summary>
public abstract class ProcessEvent : HubEvent
{
    private protected ProcessEvent(JsonElement json, string processId, string processType, long seq, DateTimeOffset timestamp)
        : base(json)
    {
        ProcessId = processId;
        ProcessType = processType;
        Seq = seq;
        Timestamp = timestamp;
    }

    /// <summary>The process's id.</summary>
    public string ProcessId { get; }

    /// <summary>What kind of work it is.</summary>
    public string ProcessType { get; }

    /// <summary>The process's event number: from 1, one more for every event of that process.</summary>
    public long Seq { get; }

    /// <summary>When the hub published it.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>
    /// True when the watcher missed this event while disconnected and got it from the hub's history after
    /// reconnecting (<c>subscribe ... since</c>), rather than live.
    /// </summary>
    public bool IsReplay { get; internal set; }

    /// <summary>True for the events that end a process (completed, failed, cancelled).</summary>
    public bool IsTerminal => this is ProcessCompleted or ProcessFailed or ProcessCancelled;

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name} {ProcessId} seq {Seq}{(IsReplay ? " (replay)" : "")}";
}
