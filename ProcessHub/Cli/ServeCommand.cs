using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;
using ProcessHub.Redis;
using ProcessHub.Server;
using ProcessHub.Storage;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Cli;

/// <summary>The default command: run the hub until SIGINT/SIGTERM, then shut down gracefully.</summary>
internal sealed class ServeCommand
{
    private readonly Option<string> _host = EnvironmentOption.Text("--host", "Address to listen on", "127.0.0.1");
    private readonly Option<int> _port = EnvironmentOption.Int("--port", "TCP port (0 = any free port)", 8501, 0, 65535);
    private readonly Option<string[]> _allowedOrigins = EnvironmentOption.List("--allowed-origin", "Origin a browser may connect from; when none is given any origin may");
    private readonly Option<string[]> _allowedHosts = EnvironmentOption.List("--allowed-host", "Host name (or address) the server answers to besides localhost, 127.0.0.1 and [::1]; in dev mode only those are served, with a secret any Host is until one is given");
    private readonly Option<int> _pingInterval = EnvironmentOption.Int("--ping-interval", "Seconds between heartbeat pings; 0 disables pings and the idle close", 30, 0, 3600);
    private readonly Option<int> _maxMessageBytes = EnvironmentOption.Int("--max-message-bytes", "Largest client WebSocket message (close 1009 past it)", 64 * 1024, 125, 16 * 1024 * 1024);
    private readonly Option<int> _maxHeadBytes = EnvironmentOption.Int("--max-head-bytes", "Largest HTTP request head (431 past it)", 16 * 1024, 1024, 1024 * 1024);
    private readonly Option<int> _maxBodyBytes = EnvironmentOption.Int("--max-body-bytes", "Largest HTTP request body (413 past it)", 1024 * 1024, 1024, 64 * 1024 * 1024);
    private readonly Option<int> _headTimeout = EnvironmentOption.Int("--head-timeout", "Seconds a request head (and the handshake) may take", 10, 1, 3600);
    private readonly Option<int> _drainTimeout = EnvironmentOption.Int("--drain-timeout", "Seconds shutdown waits for connections to close", 5, 0, 3600);
    private readonly Option<int> _maxConnections = EnvironmentOption.Int("--max-connections", "WebSocket connections and SSE streams in all (1013 / 503 past it)", 50_000, 1, 10_000_000);
    private readonly Option<int> _maxConnectionsPerUser = EnvironmentOption.Int("--max-connections-per-user", "WebSocket connections and SSE streams per user (1013 / 429 past it)", 100, 1, 1_000_000);
    private readonly Option<int> _maxProcessesPerUser = EnvironmentOption.Int("--max-processes-per-user", "Running processes per owner (429 past it); also the ended ones kept per owner (the oldest go first)", 1000, 1, 10_000_000);
    private readonly Option<int> _maxHistoryBytesPerUser = EnvironmentOption.Int("--max-history-bytes-per-user", "Bytes one owner's processes' histories may hold (the events' buffers), over all of them (0: no bound); past it the oldest events go first, those of ended processes before running ones", 64 * 1024 * 1024, 0, int.MaxValue);
    private readonly Option<int> _outboundLimit = EnvironmentOption.Int("--outbound-limit-bytes", "Queued bytes per connection before it is closed as a slow consumer (4429)", 1024 * 1024, SlowConsumerPolicy.SmallestConfigurableByteLimit, 1024 * 1024 * 1024);
    private readonly Option<int> _stallLimit = EnvironmentOption.Int("--stall-limit", "Seconds a connection may go without draining before it is closed (4429)", 30, 1, 3600);
    private readonly Option<int> _authTimeout = EnvironmentOption.Int("--auth-timeout", "Seconds a connection has to authenticate (4401 past it)", 10, 1, 3600);
    private readonly Option<int> _historyLimit = EnvironmentOption.Int("--history-limit", "Events kept per process for subscribe with since", 1000, 0, 1_000_000);
    private readonly Option<int> _retention = EnvironmentOption.Int("--retention", "Seconds an ended process stays listed", 900, 0, 30 * 24 * 3600);
    private readonly Option<int> _rateLimit = EnvironmentOption.Int("--rate-limit", "Client messages and ping frames per second per connection", 100, 1, 1_000_000);
    private readonly Option<string?> _jwtSecret = EnvironmentOption.OptionalText("--jwt-secret", "HS256 shared secret (at least 32 bytes)");
    private readonly Option<string?> _jwtSecretFile = EnvironmentOption.OptionalText("--jwt-secret-file", "File holding the HS256 shared secret");
    private readonly Option<string?> _jwtPublicKey = EnvironmentOption.OptionalText("--jwt-public-key", "RS256 or ES256 public key: a PEM file, or the PEM text itself");
    private readonly Option<string?> _jwtIssuer = EnvironmentOption.OptionalText("--jwt-issuer", "Required iss claim");
    private readonly Option<string?> _jwtAudience = EnvironmentOption.OptionalText("--jwt-audience", "Required aud claim");
    private readonly Option<int> _clockSkew = EnvironmentOption.Int("--clock-skew", "Seconds of tolerance on exp and nbf", 30, 0, 3600);
    private readonly Option<int> _apiRateLimit = EnvironmentOption.Int("--api-rate-limit", "HTTP API requests per second per user (429 past it)", 200, 1, 1_000_000);
    private readonly Option<int> _sseKeepAlive = EnvironmentOption.Int("--sse-keep-alive", "Seconds between SSE keep-alive comments", 15, 1, 3600);
    private readonly Option<string> _flushScheduler = EnvironmentOption.Choice("--flush-scheduler", "How connections' writers are woken: per-connection (a thread-pool work item each) or shared (one flusher per core)", "shared", "per-connection", "shared");
    private readonly Option<int> _reclaimAfter = EnvironmentOption.Int("--reclaim-after-connections", "WebSocket openings after which, once openings and sends pause, one full GC returns memory to the OS (0: never)", 1_000, 0, 10_000_000);
    private readonly Option<bool> _noDev = EnvironmentOption.Flag("--no-dev", "Refuse to start without a configured secret or key (no dev mode)");
    private readonly Option<string> _store = EnvironmentOption.Choice("--store", "Where processes are kept: sqlite (durable, in --data-dir) or memory (lost at a restart)", "sqlite", "sqlite", "memory");
    private readonly Option<string> _dataDir = EnvironmentOption.Text("--data-dir", "Directory of the sqlite store (created if missing)", "./data");
    private readonly Option<bool> _newEpoch = EnvironmentOption.Flag("--new-epoch", "Start a new epoch over the sqlite store's processes: once, after restoring --data-dir from a backup, so that clients take the list afresh");
    private readonly Option<string> _synchronous = EnvironmentOption.Choice("--synchronous", "When a sqlite commit is acknowledged: normal (survives a crash of the hub) or full (fsync each commit: survives a power loss too)", "normal", "normal", "full");
    private readonly Option<string?> _redis = EnvironmentOption.OptionalText("--redis", "A StackExchange.Redis configuration (e.g. 127.0.0.1:6379): several hubs share processes through this Redis instead of a local store");
    private readonly Option<string> _redisPrefix = EnvironmentOption.Text("--redis-prefix", "Prefix of the keys and channels in Redis (one per deployment)", "processhub:");
    private readonly Option<int> _redisLease = EnvironmentOption.Int("--redis-lease", "Seconds after which a silent hub counts as gone: its in-process processes end with hub_lost", 5, 2, 3600);
    private readonly Option<int> _redisStartWait = EnvironmentOption.Int("--redis-start-wait", "Seconds a hub keeps trying to reach Redis at start before it exits with code 1 (0: give up at the first failure)", 10, 0, 3600);
    private readonly Option<string> _logLevel = EnvironmentOption.Choice("--log-level", "Least severe log lines written: information, or debug for a line per WebSocket opened, authenticated and closed (otherwise summed up every 10 s)", "information", "information", "debug");
    private readonly Option<int> _staleAfter = EnvironmentOption.Int("--stale-after", "Seconds without a report after which a running process driven over HTTP fails as stale (0: never)", 600, 0, 30 * 24 * 3600);

    public void AddTo(RootCommand root)
    {
        foreach (var option in new Option[]
        {
            _host, _port, _allowedOrigins, _allowedHosts, _pingInterval, _maxMessageBytes, _maxHeadBytes, _maxBodyBytes, _headTimeout,
            _drainTimeout, _maxConnections, _maxConnectionsPerUser, _maxProcessesPerUser, _maxHistoryBytesPerUser, _outboundLimit, _stallLimit, _authTimeout,
            _historyLimit, _retention, _rateLimit, _jwtSecret, _jwtSecretFile, _jwtPublicKey, _jwtIssuer, _jwtAudience,
            _clockSkew, _apiRateLimit, _sseKeepAlive, _flushScheduler, _reclaimAfter, _noDev, _store, _dataDir,
            _synchronous, _newEpoch, _staleAfter, _redis, _redisPrefix, _redisLease, _redisStartWait, _logLevel,
        })
        {
            root.Options.Add(option);
        }
        root.SetAction((result, _) => RunAsync(result));
    }

    private ServerOptions ReadServerOptions(ParseResult result) => new()
    {
        Host = result.GetValue(_host)!,
        Port = result.GetValue(_port),
        AllowedOrigins = result.GetValue(_allowedOrigins) ?? [],
        PingInterval = TimeSpan.FromSeconds(result.GetValue(_pingInterval)),
        MaxMessageBytes = result.GetValue(_maxMessageBytes),
        MaxRequestHeadBytes = result.GetValue(_maxHeadBytes),
        MaxRequestBodyBytes = result.GetValue(_maxBodyBytes),
        RequestHeadTimeout = TimeSpan.FromSeconds(result.GetValue(_headTimeout)),
        DrainTimeout = TimeSpan.FromSeconds(result.GetValue(_drainTimeout)),
        MaxConnections = result.GetValue(_maxConnections),
        ReclaimAfterConnections = result.GetValue(_reclaimAfter),
        OutboundByteLimit = result.GetValue(_outboundLimit),
        StallLimit = TimeSpan.FromSeconds(result.GetValue(_stallLimit)),
        FlushScheduler = result.GetValue(_flushScheduler) == "shared" ? Outbound.FlushScheduler.Shared : Outbound.FlushScheduler.PerConnection,
    };

    /// <summary>
    /// Dev mode serves only the loopback names (and the address it is bound to): its token endpoint must not answer a
    /// page that rebound its own name to 127.0.0.1. With a secret any Host is served unless --allowed-host names some;
    /// then the loopback names stay allowed, so a local health check keeps working.
    /// </summary>
    private (string[] Hosts, string? Error) ReadAllowedHosts(ParseResult result, string bindHost, bool devMode)
    {
        var given = result.GetValue(_allowedHosts) ?? [];
        if (!devMode && given.Length == 0)
        {
            return ([], null);
        }
        var hosts = new List<string>(HostAllowList.LoopbackNames);
        if (devMode && HostAllowList.TryNormalize(bindHost, out var bound, out _))
        {
            hosts.Add(bound);
        }
        foreach (var value in given)
        {
            if (!HostAllowList.TryNormalize(value, out var name, out var problem))
            {
                return ([], problem);
            }
            hosts.Add(name);
        }
        return ([.. hosts.Distinct(StringComparer.OrdinalIgnoreCase)], null);
    }

    private HubOptions ReadHubOptions(ParseResult result) => new()
    {
        AuthTimeout = TimeSpan.FromSeconds(result.GetValue(_authTimeout)),
        HistoryLimit = result.GetValue(_historyLimit),
        Retention = TimeSpan.FromSeconds(result.GetValue(_retention)),
        MessageRateLimit = result.GetValue(_rateLimit),
        MaxConnectionsPerUser = result.GetValue(_maxConnectionsPerUser),
        MaxProcessesPerUser = result.GetValue(_maxProcessesPerUser),
        MaxHistoryBytesPerUser = result.GetValue(_maxHistoryBytesPerUser),
        ApiRequestsPerSecond = result.GetValue(_apiRateLimit),
        SseKeepAlive = TimeSpan.FromSeconds(result.GetValue(_sseKeepAlive)),
        StaleAfter = TimeSpan.FromSeconds(result.GetValue(_staleAfter)),
    };

    /// <summary>The store the options name; the sqlite store is opened (and may refuse) by the application.</summary>
    private IProcessStore CreateStore(ParseResult result, HubOptions hubOptions, ILoggerFactory loggerFactory) =>
        result.GetValue(_store) == "memory"
            ? new MemoryProcessStore()
            : new SqliteProcessStore(
                new SqliteStoreOptions
                {
                    DataDirectory = result.GetValue(_dataDir)!,
                    Synchronous = result.GetValue(_synchronous) == "full" ? SqliteSynchronous.Full : SqliteSynchronous.Normal,
                    NewEpoch = result.GetValue(_newEpoch),
                },
                hubOptions.HistoryLimit,
                loggerFactory.CreateLogger("ProcessHub.Store"));

    private static bool IsExplicit(ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>The JWT settings, or null for dev mode; a message and exit code 2 when the configuration is wrong.</summary>
    private (JwtSettings? Settings, string? Error) ReadJwtSettings(ParseResult result)
    {
        string? secret = result.GetValue(_jwtSecret);
        string? secretFile = result.GetValue(_jwtSecretFile);
        string? publicKey = result.GetValue(_jwtPublicKey);
        // The command line wins over the environment (docs/protocol.md section 7): one JWT option given on it sets
        // aside whichever the environment holds, rather than counting as a second one.
        bool onCommandLine = IsExplicit(result, _jwtSecret) || IsExplicit(result, _jwtSecretFile) || IsExplicit(result, _jwtPublicKey);
        if (onCommandLine)
        {
            secret = IsExplicit(result, _jwtSecret) ? secret : null;
            secretFile = IsExplicit(result, _jwtSecretFile) ? secretFile : null;
            publicKey = IsExplicit(result, _jwtPublicKey) ? publicKey : null;
        }
        int configured = (secret is null ? 0 : 1) + (secretFile is null ? 0 : 1) + (publicKey is null ? 0 : 1);
        if (configured > 1)
        {
            return (null, "give only one of --jwt-secret, --jwt-secret-file and --jwt-public-key");
        }
        try
        {
            if (secretFile is not null)
            {
                secret = KeyFile.Read("--jwt-secret-file", secretFile).Trim();
            }
            bool pemGiven = publicKey is not null && publicKey.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal);
            string? pem = publicKey is null ? null : pemGiven ? publicKey : KeyFile.Read("--jwt-public-key", publicKey);
            if (pem is not null && !pem.Contains("-----BEGIN", StringComparison.Ordinal))
            {
                return (null, $"--jwt-public-key: {(pemGiven ? "the text" : publicKey)} holds no PEM block (-----BEGIN PUBLIC KEY-----); give an RS256 or ES256 public key, or the path of a file holding one");
            }
            if (secret is null && pem is null)
            {
                return (null, null);
            }
            var settings = new JwtSettings
            {
                Secret = secret,
                PublicKeyPem = pem,
                Issuer = result.GetValue(_jwtIssuer),
                Audience = result.GetValue(_jwtAudience),
                ClockSkew = TimeSpan.FromSeconds(result.GetValue(_clockSkew)),
            };
            _ = new TokenValidator(settings); // fail now, with a clear message, rather than at the first connection
            return (settings, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            return (null, ex.Message);
        }
    }

    private async Task<int> RunAsync(ParseResult result)
    {
        var serverOptions = ReadServerOptions(result);
        var hubOptions = ReadHubOptions(result);
        var (jwt, jwtError) = ReadJwtSettings(result);
        if (jwtError is not null)
        {
            return Refuse($"invalid JWT configuration: {jwtError}");
        }
        bool devMode = jwt is null;
        var (allowedHosts, hostError) = ReadAllowedHosts(result, serverOptions.Host, devMode);
        if (hostError is not null)
        {
            return Refuse($"--allowed-host: {hostError}");
        }
        serverOptions = serverOptions with { AllowedHosts = allowedHosts };
        var origins = new List<string>();
        foreach (string value in serverOptions.AllowedOrigins)
        {
            if (!AllowedOrigin.TryNormalize(value, out var origin, out var originError))
            {
                return Refuse($"--allowed-origin {originError}");
            }
            origins.Add(origin);
        }
        serverOptions = serverOptions with { AllowedOrigins = origins };
        foreach (var option in new[] { _jwtIssuer, _jwtAudience })
        {
            if (result.GetValue(option) is { } claim && string.IsNullOrWhiteSpace(claim))
            {
                // Empty would require an empty claim, which no issuer sends: every token refused, and the hub up.
                return Refuse($"{option.Name} is empty: give the value tokens must carry, or leave the option out");
            }
        }
        if (result.GetValue(_redis) is { } redisConfiguration && !RedisEngineOptions.IsUsable(redisConfiguration, out var redisError))
        {
            return Refuse(redisError!);
        }
        if (string.IsNullOrWhiteSpace(result.GetValue(_redisPrefix)))
        {
            // The hub's keys (epoch, offset, log, ...) would sit among everything else in the database, any of them
            // another program's to overwrite or delete.
            return Refuse("--redis-prefix is empty: give the prefix of this deployment's keys (default processhub:)");
        }
        if (string.IsNullOrWhiteSpace(result.GetValue(_dataDir)))
        {
            return Refuse("--data-dir: give a directory (it was empty)");
        }
        try
        {
            _ = serverOptions.ResolveEndPoint(); // an address, or a name that resolves: said now, not as a stack trace
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ArgumentException)
        {
            return Refuse($"--host {Shorten(serverOptions.Host)}: not an address or a name that resolves ({ex.Message})");
        }
        if (result.GetValue(_newEpoch) && (result.GetValue(_store) == "memory" || result.GetValue(_redis) is not null))
        {
            // Said rather than ignored: someone restoring a backup must know the flag did nothing for them.
            return Refuse("--new-epoch is for the sqlite store: the memory store starts a new epoch at every start, and with --redis the epoch is Redis's (docs/scale-out.md)");
        }
        if (result.GetValue(_redis) is not null && IsExplicit(result, _store))
        {
            // Said, not refused (a script may pass both): the banner's "kept in redis" alone left it to be noticed.
            // Only when written on the command line: PROCESSHUB_STORE may be set for every hub of a machine.
            Console.Error.WriteLine($"processhub: --store {result.GetValue(_store)} does not apply with --redis: the processes are kept in Redis");
        }
        if (devMode)
        {
            if (result.GetValue(_noDev))
            {
                return Refuse("--no-dev needs --jwt-secret, --jwt-secret-file or --jwt-public-key (or PROCESSHUB_JWT_SECRET, PROCESSHUB_JWT_SECRET_FILE or PROCESSHUB_JWT_PUBLIC_KEY)");
            }
            if (!IsLoopback(serverOptions.Host))
            {
                return Refuse($"dev mode (no JWT secret or key configured) binds to loopback only; --host {serverOptions.Host} needs --jwt-secret, --jwt-secret-file or --jwt-public-key");
            }
            if (result.GetValue(_redis) is not null)
            {
                // Each hub would sign with its own random secret: a token from one is refused by the others.
                Console.Error.WriteLine("processhub: warning: dev mode with --redis: this hub signs its own tokens, which the other hubs refuse; give every hub the same --jwt-secret (docs/scale-out.md)");
            }
            // A random secret for this run only: tokens printed below die with the process.
            jwt = new JwtSettings { Secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), ClockSkew = TimeSpan.FromSeconds(result.GetValue(_clockSkew)) };
        }

        using var loggerFactory = Logging.CreateFactory(result.GetValue(_logLevel) == "debug" ? LogLevel.Debug : LogLevel.Information);
        var logger = loggerFactory.CreateLogger("ProcessHub");
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A stop asked for before the hub listens (it may be waiting for Redis) ends the start at once.
        using var startAbandoned = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        // Bound first: a port that is taken fails the start at once, before the data directory is created or the hub
        // waits for Redis (it did both, then failed). Listening starts only once the hub can serve (app.Start below).
        SocketListener bound;
        try
        {
            bound = new SocketListener(serverOptions.ResolveEndPoint(), loggerFactory.CreateLogger("ProcessHub.Server"));
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            return CannotListen(ex);
        }

        HubApplication opened;
        try
        {
            string? redis = result.GetValue(_redis);
            Func<ProcessRegistry, IProcessEngine>? sharedEngine = redis is null
                ? null
                : registry => new RedisProcessEngine(
                    registry,
                    new RedisEngineOptions
                    {
                        Configuration = redis,
                        KeyPrefix = result.GetValue(_redisPrefix)!,
                        Lease = TimeSpan.FromSeconds(result.GetValue(_redisLease)),
                        StartWait = TimeSpan.FromSeconds(result.GetValue(_redisStartWait)),
                        StartAbandoned = startAbandoned.Token,
                    },
                    hubOptions,
                    TimeProvider.System,
                    loggerFactory.CreateLogger("ProcessHub.Redis"));
            opened = new HubApplication(serverOptions, hubOptions, jwt!, loggerFactory, store: redis is null ? CreateStore(result, hubOptions, loggerFactory) : null, engine: sharedEngine, bound: bound);
        }
        catch (StoreOpenException ex)
        {
            bound.Dispose();
            return Refuse(ex.Message, exitCode: 1);
        }
        catch (OperationCanceledException) when (startAbandoned.IsCancellationRequested)
        {
            bound.Dispose();
            // Asked to stop before it was up: a stop, not a failure (nothing was served, nothing to drain).
            Console.Error.WriteLine("processhub: stopped before it was listening");
            return 0;
        }
        await using var app = opened;
        // The dev tokens are routes of their own: mapped before the listener opens, so no request (and no one reading
        // the banner below) can find the hub up without them, and the router is never changed while it serves.
        var devTokens = devMode ? EnableDevTokens(app) : default;
        try
        {
            app.Start();
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            return CannotListen(ex); // bound, but the listen itself failed
        }
        var endPoint = app.LocalEndPoint;
        // --host 0.0.0.0 (or ::) is every address of the machine: ws://0.0.0.0 is where no client can connect, so the
        // banner names the machine instead.
        bool everyAddress = endPoint.Address.Equals(System.Net.IPAddress.Any) || endPoint.Address.Equals(System.Net.IPAddress.IPv6Any);
        string webSocketUrl = everyAddress ? $"ws://{System.Net.Dns.GetHostName()}:{endPoint.Port}/ws" : $"ws://{endPoint}/ws";
        Console.WriteLine($"ProcessHub listening on http://{endPoint}{(everyAddress ? " (every address of this machine)" : "")} (WebSocket: {webSocketUrl})");
        Console.WriteLine($"Processes are kept in {app.Engine.Description}");
        if (devMode)
        {
            PrintDevBanner(endPoint, devTokens.User, devTokens.Admin);
        }
        else
        {
            // Which tokens this hub takes, said once: a client refused with 4401 is otherwise the first sign that the
            // hub was started with another key, issuer or audience than its issuer uses. Never the key itself.
            Console.WriteLine($"Authentication: {DescribeAuthentication(app.Tokens)}");
        }

        await stopRequested.Task.ConfigureAwait(false);
        logger.LogInformation("shutting down: closing {Count} WebSocket connections with 1001", app.Server.OpenWebSockets);
        await app.StopAsync().ConfigureAwait(false);
        // Disposed before the last line: the engine ends its in-process runs and gives up its lease, the store writes
        // what it was handed. "stopped" came a few milliseconds before that, and an operator who waits for it had
        // not quite waited for the hub (from a scale-out audit).
        await app.DisposeAsync().ConfigureAwait(false);
        logger.LogInformation("stopped");
        return 0;

        int CannotListen(System.Net.Sockets.SocketException ex) =>
            Refuse($"cannot listen on {serverOptions.Host}:{serverOptions.Port}: {ex.Message}", exitCode: 1);

        void OnSignal(PosixSignalContext context)
        {
            if (stopRequested.Task.IsCompleted)
            {
                // A second Ctrl+C (or SIGTERM) while the first still drains: the person means now. The signal's own
                // action ends the process; what is stored stays stored (the promise of docs/protocol.md 10.2).
                Console.Error.WriteLine("processhub: second signal: exiting now, without waiting for the drain");
                context.Cancel = false;
                return;
            }
            context.Cancel = true; // we exit ourselves, after draining
            stopRequested.TrySetResult();
            startAbandoned.Cancel();
        }
    }

    private static (string User, string Admin) EnableDevTokens(HubApplication app)
    {
        var lifetime = Api.DevTokenEndpoint.Lifetime;
        string userToken = app.Tokens.Issue("dev", [], lifetime);
        string adminToken = app.Tokens.Issue("admin", ["admin"], lifetime);
        app.EnableDevToken(userToken);
        return (userToken, adminToken);
    }

    private static string DescribeAuthentication(TokenValidator tokens)
    {
        var settings = tokens.Settings;
        string key = settings.Secret is not null ? "the shared secret" : "the public key";
        string issuer = settings.Issuer is { } iss ? $", iss '{iss}'" : "";
        string audience = settings.Audience is { } aud ? $", aud '{aud}'" : "";
        return $"JWT ({tokens.Algorithm}) signed with {key}{issuer}{audience}, clock skew {settings.ClockSkew.TotalSeconds:0} s";
    }

    private static void PrintDevBanner(IPEndPoint endPoint, string userToken, string adminToken)
    {
        Console.WriteLine("Dev mode: no JWT secret or key configured, so this run signs its own tokens (valid 24 h, for this run only).");
        Console.WriteLine($"  Dashboard:                http://{endPoint}/");
        Console.WriteLine($"  WebSocket for user 'dev': ws://{endPoint}/ws?token={userToken}");
        Console.WriteLine($"  Token for user 'dev':     {userToken}");
        Console.WriteLine($"  Admin token:              {adminToken}");
        Console.WriteLine($"  Dashboard as alice:       http://{endPoint}/?user=alice (any user name; add &role=admin for an admin)");
        Console.WriteLine($"  Token for any user:       curl -s 'http://{endPoint}/api/dev-token?user=alice&role=admin'");
        Console.WriteLine("  Start a benchmark:");
        Console.WriteLine($"    curl -s -X POST http://{endPoint}/api/benchmark -H 'Authorization: Bearer {userToken}' -H 'Content-Type: application/json' -d '{{\"models\":[\"GPT-4o\",\"Claude\"],\"runs\":3,\"contexts\":[\"1K\",\"5K\"],\"step_ms\":500}}'");
    }

    private static string Shorten(string text) => text.Length <= 64 ? text : $"{text[..64]}... ({text.Length} characters)";

    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static int Refuse(string message, int exitCode = 2)
    {
        Console.Error.WriteLine($"processhub: {message}");
        return exitCode;
    }
}
