namespace ProcessHub.Hub.Sessions;

/// <summary>
/// The large form of a <see cref="LiveAfterTable"/>: a dictionary that also knows at what size it next drops the
/// entries of processes the hub has let go. Kept here rather than in the table, so that a table with few entries
/// (nearly every connection's) costs nothing for it.
/// </summary>
internal sealed class LiveAfterMap : Dictionary<string, long>
{
    /// <summary>No pruning below this many entries: a connection listed with that many processes keeps them all.</summary>
    internal const int FirstPruneAt = 1024;

    public LiveAfterMap(int capacity)
        : base(capacity, StringComparer.Ordinal)
    {
    }

    /// <summary>The size at which <see cref="LiveAfterTable.PruneIfLarge"/> next looks for entries to drop.</summary>
    public int PruneAt { get; set; } = FirstPruneAt;
}
