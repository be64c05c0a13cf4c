namespace ProcessHub.Hub;

/// <summary>The hub's limits and windows (docs/protocol.md sections 2-5); defaults are the contract's.</summary>
public sealed record HubOptions
{
    /// <summary>Time a connection has to authenticate (4401 "auth timeout" past it).</summary>
    public TimeSpan AuthTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Events kept per process for <c>subscribe ... since</c>.</summary>
    public int HistoryLimit { get; init; } = 1000;

    /// <summary>How long an ended process stays listed.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// A running process with no report for this long ends with <c>process_failed</c>, code <c>stale</c>: its producer
    /// is presumed gone. Zero never ends one.
    /// </summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Client messages per second, sustained (a burst of as many is allowed).</summary>
    public int MessageRateLimit { get; init; } = 100;

    /// <summary>WebSocket connections one user may hold open (1013 past it, like the global limit).</summary>
    public int MaxConnectionsPerUser { get; init; } = 100;

    /// <summary>HTTP API requests per second per user (429 past it).</summary>
    public int ApiRequestsPerSecond { get; init; } = 200;

    /// <summary>How often an idle SSE stream gets a <c>: keep-alive</c> comment.</summary>
    public TimeSpan SseKeepAlive { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Largest <c>progress</c> object a producer may send.</summary>
    public int MaxProgressBytes { get; init; } = 4 * 1024;

    /// <summary>Largest <c>result</c> a producer may send.</summary>
    public int MaxResultBytes { get; init; } = 64 * 1024;

    /// <summary>Largest <c>params</c> a producer may start a process with (413 past it).</summary>
    public int MaxParamsBytes { get; init; } = 16 * 1024;

    /// <summary>Largest <c>error.message</c> a producer may fail a process with, in UTF-8 bytes (400 past it).</summary>
    public int MaxErrorMessageBytes { get; init; } = 4 * 1024;

    /// <summary>
    /// Running processes one owner may have (a start past it is refused: 429 over HTTP). Also how many ended processes
    /// are kept per owner: past it the oldest ended one is forgotten before its retention window is over. Together they
    /// bound what one user can make the hub hold, and the size of that user's <c>process_list</c>.
    /// </summary>
    public int MaxProcessesPerUser { get; init; } = 1000;

    /// <summary>
    /// Bytes one owner's processes' histories may hold on this hub (the events' buffers), over all of them (0: no bound). Past it
    /// the oldest kept events go before the history limit or the retention window would let them go: those of ended
    /// processes first. Counts alone let one token make the hub hold gigabytes with large events.
    /// </summary>
    public long MaxHistoryBytesPerUser { get; init; } = 64L * 1024 * 1024;
}
