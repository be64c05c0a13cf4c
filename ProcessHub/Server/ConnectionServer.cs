using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using ProcessHub.Api;
using ProcessHub.Http;
using ProcessHub.Outbound;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Server;

/// <summary>
/// The server that runs connections, whatever runs on them: listener, per-connection HTTP loop, WebSocket
/// connections with their outbound queues, heartbeat, the slow-consumer sweep and graceful shutdown. What runs on
/// WebSockets is the <see cref="IConnectionHandler"/> (the hub); what runs on HTTP is the router.
/// </summary>
internal sealed partial class ConnectionServer : IAsyncDisposable, IConnectionCounts
{
    /// <summary>How often the slow-consumer policy looks at every connection (its stall limit is whole seconds).</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the WebSockets opened and closed are summed up in one Information line (when any were).</summary>
    internal static readonly TimeSpan ConnectionSummaryInterval = TimeSpan.FromSeconds(10);

    private readonly ServerOptions _options;
    private readonly IConnectionHandler _handler;
    private readonly SlowConsumerPolicy _slowConsumers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpConnectionLoop _http;
    private readonly Action<OutboundConnection> _onWebSocketEnded;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, ClientConnection> _connections = new();
    private readonly ConcurrentDictionary<long, OutboundConnection> _webSockets = new();
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SocketListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _heartbeat = Task.CompletedTask;
    private Task _sweeper = Task.CompletedTask;
    private Task _reclaimer = Task.CompletedTask;
    private long _webSocketsOpened;
    private long _webSocketsClosed;
    private long _summarizedOpened;
    private long _summarizedClosed;
    private long _lastSummaryTimestamp;
    private int _stopRequested;

    private readonly Func<int> _otherConnections;

    /// <param name="otherConnections">
    /// Long-lived connections that are not WebSockets (SSE streams), which count against <see cref="ServerOptions.MaxConnections"/> too.
    /// </param>
    /// <param name="bound">
    /// The address already bound (the command line binds before the store opens); owned from here on. When null,
    /// <see cref="Start"/> binds <see cref="ServerOptions.Host"/> and <see cref="ServerOptions.Port"/> itself.
    /// </param>
    public ConnectionServer(ServerOptions options, IConnectionHandler handler, Router router, ILoggerFactory loggerFactory, TimeProvider? time = null, Func<int>? otherConnections = null, SocketListener? bound = null)
    {
        _options = options;
        _listener = bound;
        _otherConnections = otherConnections ?? (static () => 0);
        _handler = handler;
        _time = time ?? TimeProvider.System;
        _slowConsumers = new SlowConsumerPolicy(options.OutboundByteLimit, options.StallLimit);
        _logger = loggerFactory.CreateLogger("ProcessHub.Server");
        _http = new HttpConnectionLoop(options, router, _logger, _time);
        _onWebSocketEnded = OnWebSocketEnded;
        Reclaimer = new MemoryReclaimer(() => WebSocketsOpened, static () => OutboundCounters.Sends, options.ReclaimAfterConnections, _time);
        _lastSummaryTimestamp = _time.GetTimestamp();
    }

    /// <summary>Gives the heap back after connection storms (see <see cref="MemoryReclaimer"/>).</summary>
    public MemoryReclaimer Reclaimer { get; }

    public IPEndPoint LocalEndPoint => _listener?.LocalEndPoint ?? throw new InvalidOperationException("the server is not bound");

    /// <summary>TCP connections open: those still speaking HTTP plus the WebSockets.</summary>
    public int OpenConnections => _connections.Count + _webSockets.Count;

    public HttpResponseCounts HttpResponses => _http.Responses;

    public int? ConnectionCapacity => _listener?.SocketCapacity;

    /// <summary>The sockets the listener counts as held (what its open-file room is measured against).</summary>
    internal int AcceptedSockets => _listener?.OpenSockets ?? 0;

    public long TimesFull => _listener?.TimesFull ?? 0;

    public int OpenWebSockets => _webSockets.Count;

    /// <summary>The open WebSockets' outbound sides, for tests that must see a queue idle before they go on.</summary>
    internal IEnumerable<OutboundConnection> WebSocketConnections => _webSockets.Values;

    /// <summary>WebSockets opened since start.</summary>
    public long WebSocketsOpened => Interlocked.Read(ref _webSocketsOpened);

    /// <summary>Fires when shutdown begins; long-lived responses (SSE) end on it.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public void Start()
    {
        _listener ??= new SocketListener(_options.ResolveEndPoint(), _logger);
        _listener.Listen();
        if (_listener.SocketCapacity is int capacity && capacity < _options.MaxConnections)
        {
            _logger.LogInformation(
                "the open-file limit ({Limit}) leaves room for {Capacity} connections at once, fewer than --max-connections ({MaxConnections}); past them new connections wait until some close",
                OpenFileLimit.Current(), capacity, _options.MaxConnections);
        }
        _acceptLoop = _listener.AcceptLoopAsync(RunConnectionAsync, _stopping.Token);
        if (_options.PingInterval > TimeSpan.Zero)
        {
            _heartbeat = HeartbeatAsync(_options.PingInterval, _stopping.Token);
        }
        _sweeper = SweepSlowConsumersAsync(_stopping.Token);
        if (_options.ReclaimAfterConnections > 0)
        {
            _reclaimer = Reclaimer.RunAsync(_stopping.Token);
        }
    }

    /// <summary>
    /// docs/protocol.md section 5: stop accepting, close every WebSocket with 1001, wait up to the drain timeout for
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
        await Task.WhenAny(_allClosed.Task, Task.Delay(_options.DrainTimeout, _time)).ConfigureAwait(false);
        // A drain shorter than the writers take to send the 1001s (--drain-timeout 0): each close frame still reaches its
        // socket before the socket goes, so that a tab sees 1001, as the log says, not 1006. The stop lasts no longer
        // than a close handshake's second in all, for a peer that reads nothing (its frame cannot be written).
        var rest = WebSocketConnection.CloseHandshakeTimeout - _options.DrainTimeout;
        if (rest > TimeSpan.Zero && !_webSockets.IsEmpty)
        {
            var closesSent = Task.WhenAll(_webSockets.Values.Select(static webSocket => webSocket.CloseSent));
            await Task.WhenAny(closesSent, Task.Delay(rest, _time)).ConfigureAwait(false);
        }
        foreach (var connection in _connections.Values)
        {
            connection.Dispose();
        }
        foreach (var webSocket in _webSockets.Values)
        {
            webSocket.Abort();
        }
        await Task.WhenAll(_acceptLoop, _heartbeat, _sweeper, _reclaimer).ConfigureAwait(false);
        _allClosed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    // One async method per TCP connection for its HTTP phase; on upgrade it starts the WebSocket receive loop and
    // returns, so an idle WebSocket holds no state machine at all (its receive loop parks with a callback).
    private async Task RunConnectionAsync(ClientConnection client)
    {
        _connections[client.Id] = client;
        // An HTTP answer (an SSE stream too) that the peer takes nothing of for the stall limit ends the connection;
        // a WebSocket's sends are the outbound layer's to judge (4429), so the limit is lifted at the upgrade.
        client.SendStallLimit = _options.StallLimit;
        UpgradeRequest? upgrade = null;
        try
        {
            upgrade = await _http.RunAsync(client, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "connection {ConnectionId} failed", client.Id);
        }
        if (upgrade is null)
        {
            _connections.TryRemove(client.Id, out _);
            client.Dispose();
            NoteClosed();
            return;
        }
        try
        {
            StartWebSocket(client, upgrade);
        }
        finally
        {
            // Only once it is among the WebSockets: a stop that began in between would have found it in neither, taken
            // everything for closed, and left its 101 and 1001 to a process on its way out.
            _connections.TryRemove(client.Id, out _);
            NoteClosed(); // it may have ended already, while it was still counted here
        }
    }

    private void StartWebSocket(ClientConnection client, UpgradeRequest upgrade)
    {
        client.SendStallLimit = Timeout.InfiniteTimeSpan;
        var connection = new OutboundConnection(client, _handler, _options.MaxMessageBytes, _slowConsumers, _options.FlushScheduler, _time, _onWebSocketEnded, upgrade.Handshake);
        _webSockets[connection.Id] = connection;
        Interlocked.Increment(ref _webSocketsOpened);
        if (_webSockets.Count + _otherConnections() > _options.MaxConnections)
        {
            connection.Close(CloseCode.TryAgainLater, "too many connections");
        }
        else if (_stopping.IsCancellationRequested)
        {
            connection.Close(CloseCode.GoingAway, "server shutting down");
        }
        LogOpened(connection.Id, client.RemoteEndPoint);
        connection.Start(upgrade);
    }

    private void OnWebSocketEnded(OutboundConnection connection)
    {
        _webSockets.TryRemove(connection.Id, out _);
        if (connection.WebSocket.Failure is { } failure)
        {
            _logger.LogError(failure, "websocket {ConnectionId} failed", connection.Id);
        }
        Interlocked.Increment(ref _webSocketsClosed);
        LogClosed(connection.Id, connection.CloseStatus, connection.CloseReason is { } reason ? $" ({reason})" : "");
        NoteClosed();
    }

    private void NoteClosed()
    {
        if (_stopping.IsCancellationRequested && _connections.IsEmpty && _webSockets.IsEmpty)
        {
            _allClosed.TrySetResult();
        }
    }

    // docs/protocol.md section 5: a ping every interval; a connection silent for two intervals is gone.
    private async Task HeartbeatAsync(TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                // The dictionary itself, not .Values, which would copy every connection into a new list each tick.
                foreach (var (_, connection) in _webSockets)
                {
                    var webSocket = connection.WebSocket;
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

    // docs/protocol.md section 5: the stall half of the slow-consumer policy needs a clock, so it is swept.
    private async Task SweepSlowConsumersAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(SweepInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                SweepSlowConsumers();
                if (_time.GetElapsedTime(_lastSummaryTimestamp) >= ConnectionSummaryInterval)
                {
                    LogConnectionSummary();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown.
        }
    }

    /// <summary>Applies the slow-consumer policy's stall check to every connection once.</summary>
    internal void SweepSlowConsumers()
    {
        foreach (var (_, connection) in _webSockets)
        {
            _slowConsumers.Check(connection);
        }
    }

    /// <summary>
    /// One Information line for the WebSockets opened and closed since the last one, if any were: a line per
    /// connection (now Debug, <c>--log-level debug</c>) was a large part of a connection's cost in a reconnect storm.
    /// </summary>
    internal void LogConnectionSummary()
    {
        _lastSummaryTimestamp = _time.GetTimestamp();
        long opened = WebSocketsOpened;
        long closed = Interlocked.Read(ref _webSocketsClosed);
        if (opened == _summarizedOpened && closed == _summarizedClosed)
        {
            return;
        }
        LogSummary(opened - _summarizedOpened, closed - _summarizedClosed, _webSockets.Count);
        _summarizedOpened = opened;
        _summarizedClosed = closed;
    }

    // EventId 0 as every other line of the hub: without one the generator gives each method a hash, which the console
    // prints after the category (ProcessHub.Server[1602941713]) as if it meant something.
    [LoggerMessage(EventId = 0, Level = LogLevel.Debug, Message = "websocket {ConnectionId} open from {Remote}")]
    private partial void LogOpened(long connectionId, EndPoint? remote);

    // With the reason our close frame gave (a 4401 says which check the token failed), not the peer's: that is the
    // client's text, and is not logged.
    [LoggerMessage(EventId = 0, Level = LogLevel.Debug, Message = "websocket {ConnectionId} closed with {CloseCode}{Reason}")]
    private partial void LogClosed(long connectionId, ushort? closeCode, string reason);

    [LoggerMessage(EventId = 0, Level = LogLevel.Information, Message = "websockets: {Opened} opened and {Closed} closed since the last summary, {Open} open")]
    private partial void LogSummary(long opened, long closed, int open);
}
