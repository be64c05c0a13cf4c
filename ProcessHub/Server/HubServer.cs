using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using ProcessHub.Http;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Server;

/// <summary>
/// The engine assembled: listener, per-connection HTTP loop, WebSocket connections, heartbeat and graceful
/// shutdown. What runs on WebSockets is the <see cref="IWebSocketHandler"/>; what runs on HTTP is the router.
/// </summary>
internal sealed class HubServer : IAsyncDisposable
{
    private readonly ServerOptions _options;
    private readonly IWebSocketHandler _handler;
    private readonly WebSocketOptions _webSocketOptions;
    private readonly ILogger _logger;
    private readonly HttpConnectionLoop _http;
    private readonly Action<WebSocketConnection> _onWebSocketEnded;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, ClientConnection> _connections = new();
    private readonly ConcurrentDictionary<long, WebSocketConnection> _webSockets = new();
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SocketListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _heartbeat = Task.CompletedTask;
    private Task _reclaimer = Task.CompletedTask;
    private long _webSocketsOpened;
    private int _stopRequested;

    public HubServer(ServerOptions options, IWebSocketHandler handler, Router router, ILoggerFactory loggerFactory)
    {
        _options = options;
        _handler = handler;
        _logger = loggerFactory.CreateLogger("ProcessHub.Server");
        _webSocketOptions = new WebSocketOptions { MaxMessageBytes = options.MaxMessageBytes, OutboundByteLimit = options.OutboundByteLimit, FlushScheduler = options.FlushScheduler };
        _http = new HttpConnectionLoop(options, router, _logger);
        _onWebSocketEnded = OnWebSocketEnded;
        Reclaimer = new MemoryReclaimer(() => WebSocketsOpened, options.ReclaimAfterConnections, TimeProvider.System);
    }

    /// <summary>Gives the heap back after connection storms (see <see cref="MemoryReclaimer"/>).</summary>
    public MemoryReclaimer Reclaimer { get; }

    public IPEndPoint LocalEndPoint => _listener?.LocalEndPoint ?? throw new InvalidOperationException("the server is not started");

    /// <summary>TCP connections open: those still speaking HTTP plus the WebSockets.</summary>
    public int OpenConnections => _connections.Count + _webSockets.Count;

    public int OpenWebSockets => _webSockets.Count;

    /// <summary>WebSockets opened since start.</summary>
    public long WebSocketsOpened => Interlocked.Read(ref _webSocketsOpened);

    /// <summary>Fires when shutdown begins; long-lived responses (SSE) end on it.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public void Start()
    {
        _listener = new SocketListener(_options.ResolveEndPoint(), _logger);
        _acceptLoop = _listener.AcceptLoopAsync(RunConnectionAsync, _stopping.Token);
        if (_options.PingInterval > TimeSpan.Zero)
        {
            _heartbeat = HeartbeatAsync(_options.PingInterval, _stopping.Token);
        }
        if (_options.ReclaimAfterConnections > 0)
        {
            _reclaimer = Reclaimer.RunAsync(_stopping.Token);
        }
    }

    /// <summary>
    /// PROTOCOL.md section 5: stop accepting, close every WebSocket with 1001, wait up to the drain timeout for
    /// connections to finish, then drop whatever is left.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0)
        {
            await _allClosed.Task.ConfigureAwait(false);
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        foreach (var webSocket in _webSockets.Values)
        {
            webSocket.Close(CloseCode.GoingAway, "server shutting down");
        }
        NoteClosed();
        await Task.WhenAny(_allClosed.Task, Task.Delay(_options.DrainTimeout)).ConfigureAwait(false);
        foreach (var connection in _connections.Values)
        {
            connection.Dispose();
        }
        foreach (var webSocket in _webSockets.Values)
        {
            webSocket.Abort();
        }
        await Task.WhenAll(_acceptLoop, _heartbeat, _reclaimer).ConfigureAwait(false);
        _allClosed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    // One async method per TCP connection for its HTTP phase; on upgrade it starts the WebSocket receive loop and
    // returns, so an idle WebSocket holds one state machine (its receive loop), not a chain of awaiting callers.
    private async Task RunConnectionAsync(ClientConnection client)
    {
        _connections[client.Id] = client;
        UpgradeRequest? upgrade = null;
        try
        {
            upgrade = await _http.RunAsync(client, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "connection {ConnectionId} failed", client.Id);
        }
        finally
        {
            _connections.TryRemove(client.Id, out _);
        }
        if (upgrade is null)
        {
            client.Dispose();
            NoteClosed();
            return;
        }
        StartWebSocket(client, upgrade);
    }

    private void StartWebSocket(ClientConnection client, UpgradeRequest upgrade)
    {
        var connection = new WebSocketConnection(client, _handler, _webSocketOptions, _onWebSocketEnded);
        _webSockets[connection.Id] = connection;
        Interlocked.Increment(ref _webSocketsOpened);
        if (_webSockets.Count > _options.MaxConnections)
        {
            connection.Close(CloseCode.TryAgainLater, "too many connections");
        }
        else if (_stopping.IsCancellationRequested)
        {
            connection.Close(CloseCode.GoingAway, "server shutting down");
        }
        _logger.LogInformation("websocket {ConnectionId} open from {Remote}", connection.Id, client.RemoteEndPoint);
        _ = connection.RunAsync(upgrade);
    }

    private void OnWebSocketEnded(WebSocketConnection connection)
    {
        _webSockets.TryRemove(connection.Id, out _);
        if (connection.Failure is { } failure)
        {
            _logger.LogError(failure, "websocket {ConnectionId} failed", connection.Id);
        }
        _logger.LogInformation("websocket {ConnectionId} closed with {CloseCode}", connection.Id, connection.CloseStatus);
        NoteClosed();
    }

    private void NoteClosed()
    {
        if (_stopping.IsCancellationRequested && _connections.IsEmpty && _webSockets.IsEmpty)
        {
            _allClosed.TrySetResult();
        }
    }

    // PROTOCOL.md section 5: a ping every interval; a connection silent for two intervals is gone.
    private async Task HeartbeatAsync(TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                // The dictionary itself, not .Values, which would copy every connection into a new list each tick.
                foreach (var (_, webSocket) in _webSockets)
                {
                    if (webSocket.IdleFor > interval * 2)
                    {
                        webSocket.Close(CloseCode.PolicyViolation, "idle timeout");
                    }
                    else
                    {
                        webSocket.SendPing();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown.
        }
    }
}
