using System.Net;
using Microsoft.Extensions.Logging;
using ProcessHub.Api;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Runners;
using ProcessHub.Storage;
using ProcessHub.Transport;

namespace ProcessHub.Server;

/// <summary>
/// The composition root: the process engine and registry, the sessions and their fan-out, auth, the HTTP API and
/// the connection server wired together. The CLI runs one; tests start one on port 0 per fixture.
/// </summary>
internal sealed class HubApplication : IAsyncDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(250);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SessionTable _sessionTable = new();
    private Task _sweeper = Task.CompletedTask;
    private int _stopped;
    private int _disposed;

    /// <param name="time">
    /// The hub's clock: auth deadlines, token expiry, retention, staleness, timestamps, the API's rate limit.
    /// </param>
    /// <param name="store">Where processes are kept; the in-memory store when null. Opened here.</param>
    /// <param name="connectionTime">
    /// The connections' clock: slow-consumer stalls, the close handshake, heartbeats, the shutdown drain, memory
    /// reclaim. Separate from the hub's so that a test can move one without the other: jumping the hub's clock by
    /// minutes to expire a token must not make a connection that is mid-send look stalled.
    /// </param>
    /// <param name="engine">
    /// Makes the engine over the registry when the hub shares one with other hubs (Redis); the local engine over
    /// <paramref name="store"/> when null.
    /// </param>
    /// <param name="bound">
    /// The listening address, bound already (not yet listening); owned by the hub once this constructor returns. Null:
    /// <see cref="Start"/> binds <paramref name="serverOptions"/>'s address.
    /// </param>
    /// <exception cref="StoreOpenException">The store or the shared engine cannot be opened.</exception>
    public HubApplication(ServerOptions serverOptions, HubOptions hubOptions, JwtSettings jwt, ILoggerFactory loggerFactory, TimeProvider? time = null, IProcessStore? store = null, TimeProvider? connectionTime = null, Func<ProcessRegistry, IProcessEngine>? engine = null, SocketListener? bound = null)
    {
        time ??= TimeProvider.System;
        Time = time;
        ServerOptions = serverOptions;
        HubOptions = hubOptions;
        Tokens = new TokenValidator(jwt);
        Counters = new HubCounters();
        Sessions = new SessionIndex();
        Registry = new ProcessRegistry(new Broadcaster(Sessions), hubOptions, time);
        Store = store ?? new MemoryProcessStore();
        Engine = engine?.Invoke(Registry) ?? new LocalProcessEngine(Registry, Store, time, loggerFactory.CreateLogger("ProcessHub.Hub"));
        try
        {
            Engine.Open();
        }
        catch (StoreUnavailableException ex)
        {
            // The store opened, but could not write what a restart must (the end of processes whose producer ran in the
            // last run): one line and exit code 1 at the command line, like a store that cannot be opened.
            throw new StoreOpenException($"{ex.Message}: the processes that ran inside the last run of the hub cannot be ended as hub_restarted (free space on the disk of {Engine.Location}, then start again)", ex);
        }
        Producer = new ProcessProducer(Engine, Registry, hubOptions);
        var sessions = _sessionTable;
        Limits = new ConnectionLimits(Sessions, hubOptions.MaxConnectionsPerUser, serverOptions.MaxConnections);
        var authenticator = new SessionAuthenticator(Tokens, Limits, Registry, hubOptions, time, Counters, loggerFactory.CreateLogger("ProcessHub.Hub"));
        Endpoint = new HubEndpoint(sessions, Sessions, authenticator, Registry, Engine, hubOptions, time, Counters);
        Timers = new SessionTimers(sessions, authenticator, Engine, time, loggerFactory.CreateLogger("ProcessHub.Hub"));
        Router = new Router();
        var limits = Limits;
        Server = new ConnectionServer(serverOptions, Endpoint, Router, loggerFactory, connectionTime ?? TimeProvider.System, () => limits.Streams, bound);
        var server = Server;
        Limits.CountWebSocketsWith(() => server.OpenWebSockets);

        long started = time.GetTimestamp();
        // 200 either way: a hub whose store or Redis refuses writes still serves its tabs what they have (a load balancer
        // that took it out would leave them nothing), but "status" says it, for a check that reads one field.
        Router.Map("GET", "/healthz", exchange =>
        {
            // Read once: a state that flips while the answer is written must not say "ok" beside "connected": false.
            var health = Engine.Health;
            return exchange.RespondJsonAsync(200, new
            {
                status = health.Connected ? "ok" : "degraded",
                uptime_seconds = Math.Round(time.GetElapsedTime(started).TotalSeconds, 3),
                // Everything that counts against --max-connections (docs/protocol.md section 1.7.1), then its two kinds.
                connections = Server.OpenWebSockets + Limits.Streams,
                websockets = Server.OpenWebSockets,
                sse_streams = Limits.Streams,
                processes = Registry.Count,
                store = Engine.StoreKind,
                data_path = Engine.Location,
                engine = new
                {
                    kind = health.Kind,
                    connected = health.Connected,
                    lag_events = health.LagEvents,
                },
            });
        });
        var auth = ApiAuthenticator = new ApiAuthenticator(Tokens, Counters, hubOptions.ApiRequestsPerSecond, time, loggerFactory.CreateLogger("ProcessHub.Api"));
        new ProcessesApi(auth, Registry, Engine, Limits, hubOptions, Server.Stopping, time).MapTo(Router);
        new BenchmarkApi(auth, Registry, Producer, new BenchmarkRunner(loggerFactory.CreateLogger("ProcessHub.Benchmark")), Limits, hubOptions.SseKeepAlive, Server.Stopping, time).MapTo(Router);
        new MetricsEndpoint(Server, Limits, Registry, Counters, (Store as SqliteProcessStore)?.Statistics, () => Engine.Health).MapTo(Router);
        new AdminApi(auth, Server.Reclaimer.Reclaim).MapTo(Router);
        Dashboard.MapTo(Router);
    }

    /// <summary>
    /// Dev mode only: <c>GET /api/dev-token</c> hands the dashboard the token of user <c>dev</c>, and mints tokens for
    /// other users with <c>?user=NAME</c> (<see cref="DevTokenEndpoint"/>).
    /// </summary>
    public void EnableDevToken(string devToken, TimeSpan? freshFor = null)
    {
        new DevTokenEndpoint(Tokens, devToken, freshFor).MapTo(Router);
        Dashboard.AnnounceDevTokens();
    }

    /// <summary>The dashboard's files; its page says whether dev tokens are handed out.</summary>
    private DashboardEndpoint Dashboard { get; } = new();

    public ServerOptions ServerOptions { get; }
    public HubOptions HubOptions { get; }
    public TimeProvider Time { get; }
    public TokenValidator Tokens { get; }
    public HubCounters Counters { get; }
    public SessionIndex Sessions { get; }

    /// <summary>Bearer authentication and the per-user request budgets of the HTTP API.</summary>
    public ApiAuthenticator ApiAuthenticator { get; }

    /// <summary>The connection limits that SSE streams count against with WebSockets.</summary>
    public ConnectionLimits Limits { get; }
    public ProcessRegistry Registry { get; }
    public IProcessStore Store { get; }
    public IProcessEngine Engine { get; }
    public ProcessProducer Producer { get; }
    public HubEndpoint Endpoint { get; }
    public SessionTimers Timers { get; }
    public Router Router { get; }
    public ConnectionServer Server { get; }

    /// <summary>Sessions open, authenticated or not.</summary>
    public int SessionCount => _sessionTable.Count;

    public IPEndPoint LocalEndPoint => Server.LocalEndPoint;

    public void Start()
    {
        Server.Start();
        _sweeper = Timers.RunAsync(SweepInterval, _stopping.Token);
    }

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Server.StopAsync().ConfigureAwait(false);
        await _sweeper.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
        await Engine.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
