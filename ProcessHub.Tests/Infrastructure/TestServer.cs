using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ProcessHub.Http;
using ProcessHub.Server;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// A real <see cref="ConnectionServer"/> on 127.0.0.1 and a port the kernel picks, running the <see cref="EchoHandler"/>.
/// Heartbeat pings are off so that no frame the test did not ask for can arrive. With a <see cref="FakeTimeProvider"/>
/// every timer of the server (close handshake, head timeout, heartbeat, stall limit, drain) is the test's to move.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(ConnectionServer server, EchoHandler handler, FakeTimeProvider? time)
    {
        Server = server;
        Handler = handler;
        Time = time;
    }

    public ConnectionServer Server { get; }

    /// <summary>The server's clock when the test gave it a fake one.</summary>
    public FakeTimeProvider? Time { get; }
    public EchoHandler Handler { get; }
    public IPEndPoint EndPoint => Server.LocalEndPoint;
    public Uri WebSocketUri => new($"ws://{EndPoint}/ws");

    /// <summary>The options every test server starts from; a test overrides what it needs with a `with` expression.</summary>
    public static ServerOptions DefaultOptions { get; } = new()
    {
        Host = "127.0.0.1",
        Port = 0,
        PingInterval = TimeSpan.Zero,
    };

    /// <summary>Starts a server. <paramref name="configureRoutes"/> may add test routes next to /healthz.</summary>
    public static TestServer Start(ServerOptions? options = null, Action<Router>? configureRoutes = null, FakeTimeProvider? time = null)
    {
        var router = new Router().Map("GET", "/healthz", exchange => exchange.RespondJsonAsync(200, new { status = "ok" }));
        configureRoutes?.Invoke(router);
        var handler = new EchoHandler();
        var server = new ConnectionServer(options ?? DefaultOptions, handler, router, NullLoggerFactory.Instance, time);
        server.Start();
        return new TestServer(server, handler, time);
    }

    /// <summary>Stops the server; on a fake clock the clock moves while it drains, as a real one would.</summary>
    public async ValueTask DisposeAsync()
    {
        var stopped = Server.DisposeAsync().AsTask();
        if (Time is not null)
        {
            await Eventually.CompletesAsync(Time, stopped, "the server stopping");
        }
        await stopped;
    }
}
