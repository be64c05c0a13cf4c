namespace ProcessHub.Storage;

/// <summary>
/// One process's rows as the store's writer knows them: the process's key, and the ids of its retained events, oldest
/// first. Kept in memory so that pruning a process's history deletes rows by id (no index to maintain on the
/// append-only events table). Touched by the writer thread only.
/// </summary>
internal sealed class StoredRows
{
    public StoredRows(long key) => Key = key;

    public long Key { get; }

    public Queue<long> Events { get; } = new();
}
