using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>How a hub uses Redis as the engine it shares with other hubs (<c>--redis</c>; docs/protocol.md section 11).</summary>
public sealed record RedisEngineOptions
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c> or <c>redis:6379,password=...</c>.</summary>
    public required string Configuration { get; init; }

    /// <summary>Prefix of every key and channel, so several deployments can share one Redis.</summary>
    public string KeyPrefix { get; init; } = "processhub:";

    /// <summary>
    /// A hub's lease: it renews it every quarter of this; once it lapses, the hub counts as dead and the processes
    /// its in-process producers ran end with <c>hub_lost</c>.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a hub checks that it has every event (its subscription could have dropped some).</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Events kept in the shared log for hubs that missed some; past it a hub reloads everything.</summary>
    public int LogLength { get; init; } = 100_000;

    /// <summary>How long a cancel waits for the producer's hub to end the process before ending it itself.</summary>
    public TimeSpan CancelWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a hub that cannot reach Redis (or load from it) at start keeps trying before it exits with code 1:
    /// hubs and their Redis are often started together, and Redis may answer a moment after the hub asks.
    /// </summary>
    public TimeSpan StartWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Cancelled when the hub is asked to stop (SIGTERM, Ctrl+C) while it is still waiting for Redis at start: the wait
    /// ends at once with <see cref="OperationCanceledException"/> instead of running out <see cref="StartWait"/>.
    /// </summary>
    public CancellationToken StartAbandoned { get; init; }

    /// <summary>
    /// About how many history events one round trip of a load (at start, and when a hub reloads) reads: whole
    /// histories are read per process, so a round trip may hold one process past it.
    /// </summary>
    internal int LoadEventsPerRoundTrip { get; init; } = 2_048;

    /// <summary>How long a call may wait for Redis; past it the producer gets 503.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Reads a <c>--redis</c> value, or says in one line what is wrong with it (said at start with exit code 2, as for
    /// any other invalid option: no connection is tried). The message never repeats the value, which may hold a password.
    /// </summary>
    internal static bool TryParseConfiguration(string configuration, out ConfigurationOptions? parsed, out string? problem)
    {
        parsed = null;
        problem = null;
        const string NoServer = "--redis names no server: give host:port (e.g. 127.0.0.1:6379), then any options";
        if (string.IsNullOrWhiteSpace(configuration))
        {
            problem = NoServer;
            return false;
        }
        try
        {
            parsed = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException ex)
        {
            // "Keyword 'x' is not supported. (Parameter 'x')": the parameter's name says nothing to someone at a shell.
            int parameter = ex.Message.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
            problem = $"--redis: {(parameter < 0 ? ex.Message : ex.Message[..parameter]).TrimEnd('.')}";
            return false;
        }
        if (parsed.EndPoints.Count == 0)
        {
            parsed = null;
            problem = NoServer;
            return false;
        }
        return true;
    }

    /// <inheritdoc cref="TryParseConfiguration"/>
    internal static bool IsUsable(string configuration, out string? problem) => TryParseConfiguration(configuration, out _, out problem);
}
