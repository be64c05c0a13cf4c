namespace ProcessHub.Storage;

/// <summary>
/// How hard a commit waits for the disk (SQLite's <c>PRAGMA synchronous</c> in WAL mode; docs/protocol.md section 10).
/// </summary>
public enum SqliteSynchronous
{
    /// <summary>
    /// A commit is written to the write-ahead log before it is acknowledged, without an fsync: it survives a crash or
    /// <c>kill -9</c> of the hub (the operating system has the bytes), not a power loss or a kernel crash.
    /// </summary>
    Normal,

    /// <summary>Every commit is fsynced before it is acknowledged: it survives a power loss too, at a cost per commit.</summary>
    Full,
}
