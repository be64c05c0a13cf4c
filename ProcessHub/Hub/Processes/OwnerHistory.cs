namespace ProcessHub.Hub.Processes;

/// <summary>
/// What one owner's processes keep in history on this hub, in bytes, and which records those are: the account that
/// <see cref="HubOptions.MaxHistoryBytesPerUser"/> is checked against. Bytes move with every event kept or let go
/// (from any process's lock, so atomically); the records change only when a process joins or leaves the registry,
/// under <see cref="HistoryBudget"/>'s lock.
/// </summary>
internal sealed class OwnerHistory
{
    private long _bytes;

    public OwnerHistory(string owner) => Owner = owner;

    public string Owner { get; }

    /// <summary>Bytes of events this owner's processes keep (the frames as sent, or the payloads restored at a start).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>The owner's records known to the registry; read and changed under <see cref="HistoryBudget"/>'s lock.</summary>
    public HashSet<ProcessRecord> Records { get; } = [];

    public void Add(long bytes) => Interlocked.Add(ref _bytes, bytes);
}
