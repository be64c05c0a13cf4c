using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using ProcessHub.Api;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Runners;

namespace ProcessHub.Server;

/// <summary>
/// The composition root: registry, fan-out, auth and the engine wired together. The CLI runs one; tests start one
/// on port 0 per fixture.
/// </summary>
internal sealed class HubApplication : IAsyncDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(250);
    private readonly CancellationTokenSource _stopping = new();
    private Task _sweeper = Task.CompletedTask;
    private int _stopped;
    private int _disposed;

    public HubApplication(ServerOptions serverOptions, HubOptions hubOptions, JwtSettings jwt, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        ServerOptions = serverOptions;
        HubOptions = hubOptions;
        Tokens = new TokenValidator(jwt);
        Counters = new HubCounters();
        Sessions = new SessionIndex();
        Broadcaster = new Broadcaster(Sessions);
        Registry = new ProcessRegistry(Broadcaster, hubOptions, time);
        Producer = new ProcessProducer(Registry, hubOptions);
        Handler = new HubConnectionHandler(Registry, Sessions, Tokens, hubOptions, time, Counters, loggerFactory.CreateLogger("ProcessHub.Hub"));
        Router = new Router();
        Server = new HubServer(serverOptions, Handler, Router, loggerFactory);

        var started = Stopwatch.GetTimestamp();
        Router.Map("GET", "/healthz", exchange => exchange.RespondJsonAsync(200, new
        {
            status = "ok",
            uptime_seconds = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 3),
            connections = Server.OpenWebSockets,
            processes = Registry.Count,
        }));
        var auth = new ApiAuthenticator(Tokens, Counters, hubOptions.ApiRequestsPerSecond);
        new ProcessesApi(auth, Registry, Producer, hubOptions, hubOptions.SseKeepAlive, Server.Stopping).MapTo(Router);
        new BenchmarkApi(auth, Registry, Producer, new BenchmarkRunner(loggerFactory.CreateLogger("ProcessHub.Benchmark")), hubOptions.SseKeepAlive, Server.Stopping).MapTo(Router);
        new MetricsEndpoint(Server, Registry, Broadcaster, Counters).MapTo(Router);
        new AdminApi(auth, Server.Reclaimer).MapTo(Router);
        DashboardEndpoint.MapTo(Router);
    }

    /// <summary>
    /// Dev mode only: <c>GET /api/dev-token</c> hands the dashboard the token of user <c>dev</c>, and mints tokens for
    /// other users with <c>?user=NAME</c> (<see cref="DevTokenEndpoint"/>).
    /// </summary>
    public void EnableDevToken(string devToken) => new DevTokenEndpoint(Tokens, devToken).MapTo(Router);

    public ServerOptions ServerOptions { get; }
    public HubOptions HubOptions { get; }
    public TokenValidator Tokens { get; }
    public HubCounters Counters { get; }
    public SessionIndex Sessions { get; }
    public Broadcaster Broadcaster { get; }
    public ProcessRegistry Registry { get; }
    public ProcessProducer Producer { get; }
    public HubConnectionHandler Handler { get; }
    public Router Router { get; }
    public HubServer Server { get; }

    public IPEndPoint LocalEndPoint => Server.LocalEndPoint;

    public void Start()
    {
        Server.Start();
        _sweeper = Handler.SweepAsync(SweepInterval, _stopping.Token);
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
        _stopping.Dispose();
    }
}
