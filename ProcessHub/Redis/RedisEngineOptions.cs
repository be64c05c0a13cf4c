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
        if (configuration.Contains("://", StringComparison.Ordinal))
        {
            // redis://:password@host:port is read as a host name (password and all), which then reached the messages.
            problem = "--redis takes StackExchange.Redis's form host:port[,option=value...] (e.g. 127.0.0.1:6379,password=...), not a redis:// URL";
            return false;
        }
        try
        {
            parsed = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException)
        {
            // The library's message names the option and the value it could not read, and a ',' inside a password
            // splits it into options of their own: a piece of the password would be named. So not a word of it.
            problem = "--redis holds an option StackExchange.Redis does not know or a value it cannot read "
                + "(a ',' inside a password splits it into options); the value is not repeated here, since it may hold a password";
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

    /// <summary>
    /// What the banner, <c>/healthz</c> and messages say of <paramref name="configuration"/>: its first server, how many
    /// more, the user and the database, and nothing else. A password never; nor the other servers, since a password
    /// with a ',' in it leaves its tail as one.
    /// </summary>
    internal static string Describe(string configuration)
    {
        if (!TryParseConfiguration(configuration, out var parsed, out _))
        {
            return "(an unreadable --redis)";
        }
        // Only a server written before any password is named: after "password=a,b", "b" is the password's tail.
        int password = configuration.IndexOf("password=", StringComparison.OrdinalIgnoreCase);
        string beforePassword = password < 0 ? configuration : configuration[..password];
        string? first = beforePassword.Split(',').Select(part => part.Trim()).FirstOrDefault(part => part.Length > 0 && !part.Contains('='));
        var endPoints = parsed!.EndPoints;
        var text = new System.Text.StringBuilder(first is not null ? Format(endPoints[0]) : "the servers of --redis");
        if (first is not null && endPoints.Count > 1)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $" and {parsed.EndPoints.Count - 1} more");
        }
        if (parsed!.User is { Length: > 0 } user)
        {
            text.Append(",user=").Append(user);
        }
        if (parsed.DefaultDatabase is int database)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $",defaultDatabase={database}");
        }
        return text.ToString();
    }

    private static string Format(System.Net.EndPoint endPoint) => endPoint switch
    {
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        System.Net.IPEndPoint ip => ip.ToString(),
        _ => endPoint.ToString() ?? "",
    };
}
