namespace ProcessHub.Client;

/// <summary>How a <see cref="HubWatcher"/> connects, and how it retries.</summary>
public sealed class HubWatcherOptions
{
    /// <summary>The hub's WebSocket endpoint, e.g. <c>ws://127.0.0.1:8501/ws</c>.</summary>
    public required Uri Url { get; init; }

    /// <summary>
    /// Further hubs of the same cluster (docs/protocol.md section 11), which share one epoch and one history. After a
    /// connection drops or an attempt fails, the next attempt goes to the next URL in turn (<see cref="Url"/>, then
    /// these, then <see cref="Url"/> again); in the same epoch the watcher resumes there with no gap, as it would on
    /// the hub it left. Empty by default: one hub, or a load balancer in front of several.
    /// </summary>
    public IReadOnlyList<Uri> FailoverUrls { get; init; } = [];

    /// <summary>
    /// The JWT to connect with. Give this or <see cref="TokenProvider"/>. White space around it (the newline of a file
    /// read whole) is trimmed; an empty one, or one of white space only, is refused by the watcher's constructor.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// Asked for a token before every connection attempt, so a reconnect can use a fresh one; with it, a connection
    /// closed with 4401 (expired or rejected token) is retried with the next token, unless the provider returns the
    /// very token that was just rejected. Network exceptions it throws (<see cref="HttpRequestException"/>,
    /// <see cref="IOException"/>, <see cref="TimeoutException"/>) count as "cannot reach the hub" and are retried;
    /// any other exception ends the watch. It is also asked a little before the open connection's token expires (a
    /// tenth of its life left, at least 2 s, at most a minute), and again once a second until it gives a token that
    /// expires later, which is sent over that connection (docs/protocol.md 2.6), so it is not closed at every token
    /// lifetime; a provider that throws then, or gives nothing that expires later by a minute past the expiry, leaves
    /// it to the hub's 4401 and a reconnect. It may be called while an earlier call is still running. White space
    /// around what it returns is trimmed.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; init; }

    /// <summary>
    /// The first reconnect delay; each failed attempt in a row doubles it. Default 1 s. It must be more than zero (the
    /// constructor refuses zero or less: the watcher would retry in a tight loop) and at most 49 days.
    /// </summary>
    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest reconnect delay. Default 30 s. At least <see cref="MinReconnectDelay"/>, at most 49 days.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a connection must stay up before the delays start over at <see cref="MinReconnectDelay"/>. A hub that
    /// closes every connection soon after its list (4429, 1008) is then retried ever more slowly, not at the shortest
    /// delay for ever (docs/protocol.md 5.2, step 6). Default 10 s, as the dashboard. Zero or more.
    /// </summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The share (0 to 1) by which each delay is randomly shortened, so clients dropped together (a hub restart) do
    /// not return together. Default 0.2; the constructor refuses a value outside 0 to 1, and NaN.
    /// </summary>
    public double ReconnectJitter { get; init; } = 0.2;

    /// <summary>
    /// Failed connection attempts in a row (a drop counts as one) after which the watch ends with a
    /// <see cref="HubConnectionException"/> instead of retrying: 1 or more (1 gives up at the first failure); null
    /// (the default) never gives up. The constructor refuses 0 or less.
    /// </summary>
    public int? MaxFailedAttempts { get; init; }

    /// <summary>
    /// How long one connection attempt may take (an attempt past it is reported as <c>timed out</c>). Default 10 s.
    /// More than zero and at most 49 days, or <see cref="Timeout.InfiniteTimeSpan"/> for no limit.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the watcher pings the hub; a hub that has not answered one within the same interval is taken as
    /// gone and reconnected to. Zero (or <see cref="Timeout.InfiniteTimeSpan"/>) turns the pings off. Default 15 s; at
    /// most 49 days, and no other negative value.
    /// </summary>
    /// <remarks>
    /// The hub's answer is read while the watch is asked for its next event: a loop body that takes longer than about
    /// two of these intervals before it asks again has the watcher drop its connection (a <see cref="HubDisconnected"/>
    /// that names the missing pong) and resume, with no gap (with the default, a 35-s block was survived and a 45-s one
    /// was not). Hand long work to another task, or raise the interval.
    /// </remarks>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The largest message accepted from the hub, in bytes (a <c>process_list</c> can be large). Default 16 MiB; more
    /// than zero. A longer message ends its connection with 1009 (message too big) and the watch with a
    /// <see cref="HubConnectionException"/>, as a 1009 does (the same again would fail again).
    /// </summary>
    public int MaxMessageBytes { get; init; } = 16 * 1024 * 1024;
}
