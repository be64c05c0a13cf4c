namespace ProcessHub.Storage;

/// <summary>Where and how the embedded store keeps its data.</summary>
public sealed record SqliteStoreOptions
{
    /// <summary>The directory of the database; created if missing (<c>--data-dir</c>, default <c>./data</c>).</summary>
    public string DataDirectory { get; init; } = "./data";

    /// <summary>How hard a commit waits for the disk (<c>--synchronous</c>).</summary>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Normal;

    /// <summary>
    /// Start a new epoch over the kept processes (<c>--new-epoch</c>), once, after restoring the directory from a backup:
    /// the copy is older than what clients saw, so its seqs would go on where clients already hold other events
    /// (docs/protocol.md 10.7). A new epoch makes every client take the list afresh.
    /// </summary>
    public bool NewEpoch { get; init; }

    /// <summary>How often the write-ahead log is folded back into the database, off the write path.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Past this many frames (4 KiB pages) in the write-ahead log, a checkpoint that could not fold the whole log in
    /// (the writer kept committing) has the writer fold in the rest between two commits, so that the log starts over
    /// instead of growing for as long as the load lasts (docs/protocol.md section 10). 4,096 frames is 16 MiB.
    /// </summary>
    internal long LogRestartFrames { get; init; } = 4096;

    /// <summary>How long opening waits for a lock another process holds before it gives up with a clear error.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Caps the database at this many pages (SQLite's <c>max_page_count</c>): a write past it fails as a full disk
    /// would. Zero leaves SQLite's own limit. For tests of the failure path; not an option of the command line.
    /// </summary>
    internal long MaxPageCount { get; init; }
}
