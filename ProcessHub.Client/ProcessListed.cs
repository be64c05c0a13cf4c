using System.Text.Json;
using ProcessHub.Client.Internal;

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
        // docs/protocol.md 3.4: only an admin's bounded view says it left processes out, and how many there are.
        IsTruncated = JsonFields.Bool(json, "truncated") == true;
        Total = IsTruncated && JsonFields.Long(json, "total") is { } total ? (int)Math.Clamp(total, 0, int.MaxValue) : null;
        Retention = JsonFields.Long(json, "retention_seconds") is { } seconds and >= 0 and <= 100L * 365 * 24 * 3600
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }

    /// <summary>
    /// How long after its <see cref="ProcessInfo.EndedAt"/> the hub keeps an ended process (its <c>--retention</c>;
    /// docs/protocol.md 5.7); null from a hub that does not say. The hub sends nothing when it forgets one: a view that
    /// keeps ended processes drops each at its end plus this, on the hub's clock (<see cref="Timestamp"/> against your
    /// own gives the difference), or a later subscribe or cancel of it finds nothing.
    /// </summary>
    public TimeSpan? Retention { get; }

    /// <summary>The hub's history epoch: <c>seq</c>s are comparable only within one epoch (it changes when the hub restarts).</summary>
    public string Epoch { get; }

    /// <summary>The processes, in the hub's order.</summary>
    public IReadOnlyList<ProcessInfo> Processes { get; }

    /// <summary>
    /// True when the list leaves processes out: an admin's bounded view (docs/protocol.md 3.4), which keeps the running
    /// processes and the most recently ended within about 512 KiB. A user's own list is never truncated.
    /// </summary>
    public bool IsTruncated { get; }

    /// <summary>With <see cref="IsTruncated"/>: how many processes the admin may see in all; null otherwise.</summary>
    public int? Total { get; }

    /// <summary>When the hub sent it.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <inheritdoc/>
    public override string ToString() => $"process_list epoch {Epoch}, {Processes.Count} processes";
}
