namespace ProcessHub.Hub.Processes;

/// <summary>
/// Where a hub's processes are kept beyond its memory: the seam of the durable store (docs/protocol.md section 10).
/// The in-memory store is its first implementation; an embedded database plugs in here.
/// </summary>
/// <remarks>
/// Events reach <see cref="Append"/> in seq order per process (the caller holds the process's lock). The store makes
/// each durable, then hands it back through the publish callback it was opened with, in the order appended: persist
/// first, then publish, so no client ever sees an event that a crash could take back.
/// </remarks>
internal interface IProcessStore : IAsyncDisposable
{
    /// <summary>Where the data lives, in words, for the banner.</summary>
    string Description { get; }

    /// <summary>What kind of store it is (<c>memory</c>, <c>sqlite</c>), for /healthz.</summary>
    string Kind { get; }

    /// <summary>The file or address holding the data, for /healthz; null when nothing is kept.</summary>
    string? Location { get; }

    /// <summary>False while the store refuses events because it cannot write (a full or failing disk).</summary>
    bool Writable { get; }

    /// <summary>True when <see cref="Append"/> publishes before it returns (nothing to wait for).</summary>
    bool PublishesInline { get; }

    /// <summary>
    /// Opens the store: its epoch (new for a new store) and what it holds, and the callback that publishes each event
    /// once it is durable.
    /// </summary>
    StoredProcesses Open(Action<PendingEvent> publish);

    /// <summary>Queues an accepted event to be made durable, then published.</summary>
    void Append(PendingEvent pending);

    /// <summary>Forgets processes that ended before the retention window.</summary>
    void Remove(IReadOnlyList<string> processIds);
}
