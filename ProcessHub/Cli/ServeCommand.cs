using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using ProcessHub.Http;
using ProcessHub.Server;
using ProcessHub.WebSockets;

namespace ProcessHub.Cli;

/// <summary>The default command: run the server until SIGINT/SIGTERM, then shut down gracefully.</summary>
internal sealed class ServeCommand
{
    private readonly Option<string> _host = EnvironmentOption.Text("--host", "Address to listen on", "127.0.0.1");
    private readonly Option<int> _port = EnvironmentOption.Int("--port", "TCP port (0 = any free port)", 8501, 0, 65535);
    private readonly Option<string[]> _allowedOrigins = EnvironmentOption.List("--allowed-origin", "Origin a browser may connect from; when none is given any origin may");
    private readonly Option<int> _pingInterval = EnvironmentOption.Int("--ping-interval", "Seconds between heartbeat pings; 0 disables pings and the idle close", 30, 0, 3600);
    private readonly Option<int> _maxMessageBytes = EnvironmentOption.Int("--max-message-bytes", "Largest client WebSocket message (close 1009 past it)", 64 * 1024, 125, 16 * 1024 * 1024);
    private readonly Option<int> _maxHeadBytes = EnvironmentOption.Int("--max-head-bytes", "Largest HTTP request head (431 past it)", 16 * 1024, 1024, 1024 * 1024);
    private readonly Option<int> _maxBodyBytes = EnvironmentOption.Int("--max-body-bytes", "Largest HTTP request body (413 past it)", 1024 * 1024, 1024, 64 * 1024 * 1024);
    private readonly Option<int> _headTimeout = EnvironmentOption.Int("--head-timeout", "Seconds a request head (and the handshake) may take", 10, 1, 3600);
    private readonly Option<int> _drainTimeout = EnvironmentOption.Int("--drain-timeout", "Seconds shutdown waits for connections to close", 5, 0, 3600);
    private readonly Option<int> _maxConnections = EnvironmentOption.Int("--max-connections", "WebSocket connections in all (close 1013 past it)", 50_000, 1, 10_000_000);
    private readonly Option<int> _outboundLimit = EnvironmentOption.Int("--outbound-limit-bytes", "Queued bytes per connection before it is closed as a slow consumer (4429)", 1024 * 1024, 4096, 1024 * 1024 * 1024);

    public void AddTo(RootCommand root)
    {
        foreach (var option in new Option[] { _host, _port, _allowedOrigins, _pingInterval, _maxMessageBytes, _maxHeadBytes, _maxBodyBytes, _headTimeout, _drainTimeout, _maxConnections, _outboundLimit })
        {
            root.Options.Add(option);
        }
        root.SetAction((result, _) => RunAsync(result));
    }

    public ServerOptions ReadServerOptions(ParseResult result) => new()
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
        OutboundByteLimit = result.GetValue(_outboundLimit),
    };

    private async Task<int> RunAsync(ParseResult result)
    {
        var options = ReadServerOptions(result);
        using var loggerFactory = Logging.CreateFactory();
        var logger = loggerFactory.CreateLogger("ProcessHub");

        var router = new Router();
        router.Map("GET", "/healthz", exchange => exchange.RespondJsonAsync(200, new { status = "ok" }));

        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        await using var server = new HubServer(options, new IdleHandler(), router, loggerFactory);
        try
        {
            server.Start();
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            await Console.Error.WriteLineAsync($"processhub: cannot listen on {options.Host}:{options.Port}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        var endPoint = server.LocalEndPoint;
        Console.WriteLine($"ProcessHub listening on http://{endPoint} (WebSocket: ws://{endPoint}/ws)");

        await stopRequested.Task.ConfigureAwait(false);
        logger.LogInformation("shutting down: closing {Count} WebSocket connections with 1001", server.OpenWebSockets);
        await server.StopAsync().ConfigureAwait(false);
        logger.LogInformation("stopped");
        return 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we exit ourselves, after draining
            stopRequested.TrySetResult();
        }
    }

    private sealed class IdleHandler : IWebSocketHandler
    {
        public void OnOpen(WebSocketConnection connection, UpgradeRequest request)
        {
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> utf8)
        {
        }

        public void OnClosed(WebSocketConnection connection)
        {
        }
    }
}
