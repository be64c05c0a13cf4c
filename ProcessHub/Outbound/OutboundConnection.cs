using System.Net;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Outbound;

/// <summary>
/// A WebSocket connection as the layers above see it (<see cref="IOutboundConnection"/>): the protocol side below it
/// (<see cref="WebSocketConnection"/>: receive loop, pings, close handshake) and, in <c>OutboundConnection.Queue.cs</c>,
/// its bounded queue and writer. Anything may be sent from any thread; sending never waits on the socket. The
/// slow-consumer policy is applied here, on every enqueue (byte limit) and by the server's periodic sweep (stall).
/// </summary>
internal sealed partial class OutboundConnection : IOutboundConnection, IWebSocketOutput, IWebSocketEvents
{
    private readonly ITransportConnection _client;
    private readonly WebSocketConnection _webSocket;
    private readonly IConnectionHandler _handler;
    private readonly SlowConsumerPolicy _policy;
    private readonly FlushScheduler _scheduler;
    private readonly TimeProvider _time;
    private readonly Action<OutboundConnection>? _onEnded;
    private int _handlerClosed;
    private int _endedParts; // the handler's OnClosed returned, the socket released: onEnded after both

    /// <param name="onEnded">Called last, when the socket is gone and everything is released (the handler's OnClosed may have come earlier, at the close handshake).</param>
    /// <param name="handshake">
    /// The upgrade's 101 response when it has not been sent yet: it goes out first, in the same send as the first
    /// frames (the <c>process_list</c>), so a connection costs one send, not two (see <see cref="EndOpen"/>).
    /// </param>
    public OutboundConnection(
        ITransportConnection client,
        IConnectionHandler handler,
        int maxMessageBytes,
        SlowConsumerPolicy policy,
        FlushScheduler scheduler,
        TimeProvider time,
        Action<OutboundConnection>? onEnded = null,
        byte[]? handshake = null)
    {
        _client = client;
        _handshake = handshake;
        _handler = handler;
        _policy = policy;
        _scheduler = scheduler;
        _time = time;
        _onEnded = onEnded;
        _webSocket = new WebSocketConnection(client, this, this, maxMessageBytes, time);
    }

    public long Id => _client.Id;
    public EndPoint? RemoteEndPoint => _client.RemoteEndPoint;
    public object? State { get; set; }
    public bool IsClosing => _webSocket.IsClosing;
    public ushort? CloseStatus => _webSocket.CloseStatus;

    /// <summary>The reason our close frame gave, when ours came first.</summary>
    public string? CloseReason => _webSocket.CloseReason;

    public bool ClosedByPeer => _webSocket.ClosedByPeer;

    /// <summary>The protocol side: heartbeat, close codes, failures.</summary>
    public WebSocketConnection WebSocket => _webSocket;

    /// <summary>Starts the connection; it runs until it ends (see <see cref="WebSocketConnection.Start"/>).</summary>
    public void Start(UpgradeRequest request) => _webSocket.Start(request);

    public bool Send(SharedFrame frame)
    {
        switch (Enqueue(frame))
        {
            case EnqueueResult.Queued:
                return true;
            case EnqueueResult.OverLimit:
                CloseAsSlowConsumer();
                return false;
            default:
                return false;
        }
    }

    public void Close(ushort code, string reason) => _webSocket.Close(code, reason);

    /// <summary>4429: what is queued is dropped so the close is not stuck behind it (docs/protocol.md section 5).</summary>
    internal void CloseAsSlowConsumer() => _webSocket.Close(CloseCode.SlowConsumer, SlowConsumerPolicy.CloseReason, dropPending: true);

    /// <summary>Drops the socket without a close handshake.</summary>
    internal void Abort() => _webSocket.Abort();

    /// <summary>Completes when the close frame queued by <see cref="Close"/> has reached the socket (or could not).</summary>
    internal Task CloseSent => _webSocket.CloseSent;

    void IWebSocketOutput.SendControl(Opcode opcode, ReadOnlySpan<byte> payload)
    {
        var frame = SharedFrame.Create(opcode, payload, FrameKind.Control);
        try
        {
            Send(frame);
        }
        finally
        {
            frame.Release();
        }
    }

    bool IWebSocketOutput.SendClose(ReadOnlySpan<byte> payload, bool dropPending)
    {
        var frame = SharedFrame.Create(Opcode.Close, payload, FrameKind.Close);
        try
        {
            return EnqueueClose(frame, dropPending);
        }
        finally
        {
            frame.Release();
        }
    }

    void IWebSocketOutput.Release()
    {
        ReleaseAll(markClosed: true);
        _webSocket.OnOutputReleased();
    }

    void IWebSocketEvents.OnOpen(UpgradeRequest request)
    {
        BeginOpen();
        try
        {
            _handler.OnOpen(this, request);
        }
        finally
        {
            EndOpen();
        }
    }

    void IWebSocketEvents.OnTextMessage(ReadOnlySpan<byte> utf8) => _handler.OnMessage(this, utf8);

    bool IWebSocketEvents.OnPing() => _handler.OnPing(this);

    void IWebSocketEvents.OnFrameWithoutMessage() => _handler.OnFrameWithoutMessage(this);

    // The handler hears of the end once: at the close handshake when there is one (its session is over; the socket may
    // linger a moment), else when the connection is gone. The server's own bookkeeping (onEnded: its count of
    // sockets, shutdown's wait) comes last: after the socket is released and after the handler's OnClosed has
    // returned, whichever of the two ends second calls it (the handshake's OnClosed runs on the writer, and the
    // socket can be released on the receive loop meanwhile).
    void IWebSocketEvents.OnCloseHandshakeCompleted() => TellHandlerClosed();

    void IWebSocketEvents.OnClosed()
    {
        try
        {
            TellHandlerClosed();
        }
        finally
        {
            EndPart();
        }
    }

    private void TellHandlerClosed()
    {
        if (Interlocked.Exchange(ref _handlerClosed, 1) == 0)
        {
            try
            {
                _handler.OnClosed(this);
            }
            finally
            {
                EndPart();
            }
        }
    }

    private void EndPart()
    {
        if (Interlocked.Increment(ref _endedParts) == 2)
        {
            _onEnded?.Invoke(this);
        }
    }
}
