namespace ProcessHub.Storage;

/// <summary>Where and how the embedded store keeps its data.</summary>
public sealed record SqliteStoreOptions
{
    /// <summary>The directory of the database; created if missing (<c>--data-dir</c>, default <c>./data</c>).</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>How hard a commit waits for the disk (<c>--synchronous</c>).</summary>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Normal;

    /// <summary>How often the write-ahead log is folded back into the database, off the write path.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long opening waits for a lock another process holds before it gives up with a clear error.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Caps the database at this many pages (SQLite's <c>max_page_count</c>): a write past it fails as a full disk
    /// would. Zero leaves SQLite's own limit. For tests of the failure path; not an option of the command line.
    /// </summary>
    internal long MaxPageCount { get; init; }
}
