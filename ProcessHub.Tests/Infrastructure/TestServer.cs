using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ProcessHub.Http;
using ProcessHub.Server;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// A real <see cref="ConnectionServer"/> on 127.0.0.1 and a port the kernel picks, running the <see cref="EchoHandler"/>.
/// Heartbeat pings are off so that no frame the test did not ask for can arrive.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(ConnectionServer server, EchoHandler handler)
    {
        Server = server;
        Handler = handler;
    }

    public ConnectionServer Server { get; }
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
    public static TestServer Start(ServerOptions? options = null, Action<Router>? configureRoutes = null)
    {
        var router = new Router().Map("GET", "/healthz", exchange => exchange.RespondJsonAsync(200, new { status = "ok" }));
        configureRoutes?.Invoke(router);
        var handler = new EchoHandler();
        var server = new ConnectionServer(options ?? DefaultOptions, handler, router, NullLoggerFactory.Instance);
        server.Start();
        return new TestServer(server, handler);
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync().ConfigureAwait(false);
}
