using System.Text.Json;

namespace ProcessHub.Client;

/// <summary>
/// <c>process_list</c>: every process the user may see, running or recently ended. It is the truth as of its
/// arrival: a view replaces what it shows with it. The hub sends one first on every connection. One exception: in
/// the same <see cref="Epoch"/>, an entry whose <see cref="ProcessInfo.Seq"/> is below that of an event you were
/// already given is older than what you show (a hub still catching up after a failover, docs/protocol.md section
/// 11.4). Keep your own state for that process: the watcher drops the events in between as already seen.
/// </summary>
public sealed class ProcessListed : HubEvent
{
    internal ProcessListed(JsonElement json, string epoch, IReadOnlyList<ProcessInfo> processes, DateTimeOffset timestamp)
        : base(json)
    {
        Epoch = epoch;
        Processes = processes;
        Timestamp = timestamp;
    }

    /// <summary>The hub's history epoch: <c>seq</c>s are comparable only within one epoch (it changes when the hub restarts).</summary>
    public string Epoch { get; }

    /// <summary>The processes, in the hub's order.</summary>
    public IReadOnlyList<ProcessInfo> Processes { get; }

    /// <summary>When the hub sent it.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <inheritdoc/>
    public override string ToString() => $"process_list epoch {Epoch}, {Processes.Count} processes";
}
