using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using ProcessHub.Transport;

namespace ProcessHub.WebSockets;

/// <summary>
/// The protocol side of one upgraded connection: its receive loop (socket -> pipe -> frame reader -> events above),
/// pings and pongs, and the close handshake (RFC 6455 7). It knows nothing of queues: its own frames go to an
/// <see cref="IWebSocketOutput"/>, and what it receives goes to <see cref="IWebSocketEvents"/>, both the outbound
/// layer above it.
/// </summary>
internal sealed class WebSocketConnection : IFrameSink, IReadWaiter
{
    /// <summary>RFC 6455 5.5: a close reason fits in a 125-byte control payload after the 2-byte code.</summary>
    public const int MaxCloseReasonBytes = 123;

    private const int HandshakeSent = 1;
    private const int HandshakeReceived = 2;

    /// <summary>How long the peer has to answer our close (and to close TCP) before the socket is dropped.</summary>
    public static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(1);

    private readonly ITransportConnection _client;
    private readonly FrameReader _reader;
    private readonly IWebSocketOutput _output;
    private readonly IWebSocketEvents _events;
    private readonly TimeProvider _time;

    private int _closeQueued;          // our close frame is queued: nothing else will be sent
    private int _closeFrameSent;       // ...and has reached the socket
    private volatile bool _closeReceived;
    private int _handshake;            // HandshakeSent | HandshakeReceived, set atomically: whoever completes it ends it
    private volatile bool _discardInput; // after a protocol error nothing the peer sends is parsed
    private TaskCompletionSource? _closeFlushed;
    private long _lastReceivedTimestamp;

    public WebSocketConnection(ITransportConnection client, IWebSocketOutput output, IWebSocketEvents events, int maxMessageBytes, TimeProvider time)
    {
        _client = client;
        _output = output;
        _events = events;
        _time = time;
        _reader = new FrameReader(maxMessageBytes);
        _lastReceivedTimestamp = time.GetTimestamp();
    }

    public long Id => _client.Id;
    public EndPoint? RemoteEndPoint => _client.RemoteEndPoint;

    /// <summary>The code that ended the connection: ours, the peer's, or 1006 if it vanished.</summary>
    public ushort? CloseStatus { get; private set; }

    /// <summary>The reason our close frame gave, when ours came first: for the log line of the close.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>Whether the peer's close came first (then <see cref="CloseStatus"/> is the code the peer chose).</summary>
    public bool ClosedByPeer { get; private set; }

    /// <summary>An unexpected exception that ended the connection (a bug above), for the owner to log.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>True once our close is queued: the connection takes no more frames.</summary>
    public bool IsClosing => Volatile.Read(ref _closeQueued) != 0;

    /// <summary>Time since the peer last sent anything (heartbeat, docs/protocol.md section 5).</summary>
    public TimeSpan IdleFor => _time.GetElapsedTime(Volatile.Read(ref _lastReceivedTimestamp));

    /// <summary>Sends a ping; the heartbeat uses this.</summary>
    public void SendPing()
    {
        if (!IsClosing)
        {
            _output.SendControl(Opcode.Ping, default);
        }
    }

    /// <summary>
    /// Starts the close handshake with <paramref name="code"/> (RFC 6455 7.1.2). Nothing is sent after it. The peer
    /// has <see cref="CloseHandshakeTimeout"/> to answer before TCP is closed. With <paramref name="dropPending"/> queued
    /// frames are discarded.
    /// </summary>
    public void Close(ushort code, string reason, bool dropPending = false)
    {
        Debug.Assert(CloseCode.IsSendable(code), $"close code {code} is not one we send");
        Span<byte> payload = stackalloc byte[2 + MaxCloseReasonBytes];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        int reasonLength = EncodeReason(reason, payload[2..]);
        if (!IsClosing)
        {
            CloseReason = reason;
        }
        QueueClose(code, payload[..(2 + reasonLength)], dropPending);
    }

    /// <summary>
    /// Completes when our close frame has reached the socket, or the socket refused it; at once when no close is queued.
    /// </summary>
    public Task CloseSent => Volatile.Read(ref _closeFlushed)?.Task ?? Task.CompletedTask;

    /// <summary>Drops the connection without a close handshake.</summary>
    public void Abort()
    {
        CloseStatus ??= CloseCode.Abnormal;
        _client.Dispose();
    }

    /// <summary>Our close frame has reached the socket (called by the output).</summary>
    public void OnCloseFrameSent()
    {
        Volatile.Write(ref _closeFrameSent, 1);
        _closeFlushed?.TrySetResult();
        // Either way TCP is closed within the handshake timeout: the peer had time to answer and to close its side.
        _ = AbortAfterAsync(CloseHandshakeTimeout);
        if (Interlocked.Or(ref _handshake, HandshakeSent) == HandshakeReceived)
        {
            EndHandshake();
        }
    }

    /// <summary>
    /// The output let go of everything queued (called by it): a close frame still queued will never be sent, so nobody
    /// waits on <see cref="CloseSent"/> for it (the stop's wait would last its whole second).
    /// </summary>
    public void OnOutputReleased() => Volatile.Read(ref _closeFlushed)?.TrySetResult();

    /// <summary>The socket refused data (called by the output): the connection is gone.</summary>
    public void OnSendFailed()
    {
        _closeFlushed?.TrySetResult();
        Abort();
    }

    /// <summary>
    /// Starts the connection: tells the layer above it is open, then runs the receive loop until the connection ends
    /// and everything is released. Returns as soon as the first read has to wait.
    /// </summary>
    /// <remarks>
    /// The loop is not an async method: over a <see cref="SocketPipeReader"/> a read that has to wait parks with this
    /// connection as the one to call back (<see cref="IReadWaiter"/>), so an idle connection keeps no state machine
    /// (200 bytes each, measured with dotnet-gcdump; idle memory per connection is a headline figure). Any other
    /// <see cref="PipeReader"/> is awaited.
    /// </remarks>
    public void Start(UpgradeRequest request)
    {
        try
        {
            _events.OnOpen(request);
        }
        catch (Exception ex)
        {
            // A bug must end only this connection, never the process: report it as an internal error.
            Failure = ex;
            CloseStatus ??= CloseCode.InternalError;
            _ = FinishAsync(flushClose: false);
            return;
        }
        Receive(resumed: null);
    }

    void IReadWaiter.OnReadReady() => Receive(resumed: null);

    /// <summary>Reads and handles frames until a read has to wait (then returns) or the input ends.</summary>
    private void Receive(ReadResult? resumed)
    {
        var input = _client.Input;
        var direct = input as SocketPipeReader;
        if (direct is { CanCallBack: false })
        {
            direct = null;
        }
        try
        {
            while (true)
            {
                ReadResult result;
                if (resumed is { } ready)
                {
                    result = ready;
                    resumed = null;
                }
                else if (direct is not null)
                {
                    if (!direct.TryReadOrWait(out result, this))
                    {
                        return; // parked: OnReadReady carries on, maybe on another thread already
                    }
                }
                else
                {
                    var read = input.ReadAsync();
                    if (!read.IsCompleted)
                    {
                        _ = ReceiveWhenReadAsync(read);
                        return;
                    }
                    result = read.GetAwaiter().GetResult();
                }
                if (HandleRead(input, result))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The socket went away under us: the peer reset, or the close timer aborted it.
            _ = FinishAsync(flushClose: false);
            return;
        }
        catch (Exception ex)
        {
            // A bug must end only this connection, never the process: report it as an internal error.
            Failure = ex;
            CloseStatus ??= CloseCode.InternalError;
            _ = FinishAsync(flushClose: false);
            return;
        }
        _ = FinishAsync(flushClose: true);
    }

    private async Task ReceiveWhenReadAsync(ValueTask<ReadResult> read)
    {
        ReadResult result;
        try
        {
            result = await read.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            await FinishAsync(flushClose: false).ConfigureAwait(false);
            return;
        }
        Receive(result);
    }

    /// <summary>One read's frames. True when the input has ended.</summary>
    private bool HandleRead(PipeReader input, ReadResult result)
    {
        var buffer = result.Buffer;
        if (!buffer.IsEmpty)
        {
            Volatile.Write(ref _lastReceivedTimestamp, _time.GetTimestamp());
        }
        if (!_closeReceived && !_discardInput)
        {
            if (IsClosing)
            {
                // Our close is out: what the peer sent before it saw it is not read, but its close still ends the
                // handshake at once (a binary frame used to fail the read, so the close behind it waited for the timeout).
                _reader.DiscardDataFromNowOn();
            }
            var status = _reader.Read(ref buffer, this, out var error);
            if (status == FrameReadStatus.Error)
            {
                _discardInput = true;
                Close(FrameErrorMapping.ToCloseCode(error), FrameErrorMapping.ToReason(error));
            }
        }
        if (_closeReceived || _discardInput)
        {
            // RFC 6455 5.5.1: nothing after the peer's close is data; after our protocol close nothing can be trusted.
            buffer = buffer.Slice(buffer.End);
        }
        input.AdvanceTo(buffer.Start, buffer.End);
        return result.IsCompleted;
    }

    /// <summary>The input has ended (or failed): waits for our close to go out if it ended cleanly, then releases everything.</summary>
    private async Task FinishAsync(bool flushClose)
    {
        try
        {
            if (flushClose)
            {
                await WaitForCloseFlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The socket went away under us.
        }
        finally
        {
            CloseStatus ??= CloseCode.Abnormal;
            _reader.Reset();
            _output.Release();
            await _client.Input.CompleteAsync().ConfigureAwait(false);
            _client.Dispose();
            _events.OnClosed();
        }
    }

    void IFrameSink.OnTextMessage(ReadOnlySpan<byte> utf8)
    {
        if (!IsClosing)
        {
            _events.OnTextMessage(utf8);
        }
    }

    // RFC 6455 5.5.2: a pong with the same payload, as soon as practical, in order; unless the layer above refuses
    // it (a client pinging past its message budget: docs/protocol.md section 5.6).
    void IFrameSink.OnPing(ReadOnlySpan<byte> payload)
    {
        if (!IsClosing && _events.OnPing() && !IsClosing)
        {
            _output.SendControl(Opcode.Pong, payload);
        }
    }

    bool IFrameSink.WantsNoMoreData => IsClosing;

    void IFrameSink.OnPong(ReadOnlySpan<byte> payload)
    {
        // Unsolicited pongs are allowed (RFC 6455 5.5.3); the heartbeat only needs to see that bytes arrived. They are
        // budgeted all the same: a flood of them kept a core busy for as long as it lasted (found by a security audit).
        ChargeFrameWithoutMessage();
    }

    void IFrameSink.OnSmallFragment() => ChargeFrameWithoutMessage();

    private void ChargeFrameWithoutMessage()
    {
        if (!IsClosing)
        {
            _events.OnFrameWithoutMessage();
        }
    }

    // RFC 6455 5.5.1: answer a close with a close (echoing the code, or empty for empty), then close TCP.
    void IFrameSink.OnClose(ushort? code, ReadOnlySpan<byte> reason)
    {
        _closeReceived = true;
        if (!IsClosing)
        {
            ClosedByPeer = true;
            CloseStatus = code ?? CloseCode.Normal;
            Span<byte> payload = stackalloc byte[2];
            if (code is ushort echoed)
            {
                BinaryPrimitives.WriteUInt16BigEndian(payload, echoed);
            }
            QueueClose(CloseStatus.Value, code is null ? default : payload, dropPending: false);
        }
        if (Interlocked.Or(ref _handshake, HandshakeReceived) == HandshakeSent)
        {
            EndHandshake();
        }
    }

    /// <summary>
    /// Both close frames have been exchanged (called once, by whichever of the writer and the receive loop completed
    /// the handshake: each sets its bit atomically and sees the other's). The connection is over for the layer above,
    /// which is told now rather than when TCP is gone: a peer that keeps its side of TCP open after the handshake held
    /// its user's place for up to <see cref="CloseHandshakeTimeout"/>, and a tab that reconnected at once at its
    /// limit got 1013. Told before our FIN goes out, so that a peer that has seen the FIN finds the place free; the FIN
    /// goes out whatever the layer above does.
    /// </summary>
    private void EndHandshake()
    {
        try
        {
            _events.OnCloseHandshakeCompleted();
        }
        catch (Exception ex)
        {
            // A bug above must not keep the socket open: reported with the connection's end (as in Start).
            Failure ??= ex;
        }
        finally
        {
            _client.ShutdownSend();
        }
    }

    private void QueueClose(ushort code, ReadOnlySpan<byte> payload, bool dropPending)
    {
        if (Interlocked.Exchange(ref _closeQueued, 1) != 0)
        {
            return;
        }
        CloseStatus ??= code;
        Interlocked.CompareExchange(ref _closeFlushed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);
        if (!_output.SendClose(payload, dropPending))
        {
            // The output is closed already: this close is never sent.
            _closeFlushed?.TrySetResult();
            _client.Dispose();
        }
    }

    private async Task WaitForCloseFlushAsync()
    {
        // The peer may half-close right after its close frame; our answer still has to go out.
        var flushed = _closeFlushed;
        if (flushed is not null && !_client.IsDisposed)
        {
            await Task.WhenAny(flushed.Task, Task.Delay(CloseHandshakeTimeout, _time)).ConfigureAwait(false);
        }
    }

    private async Task AbortAfterAsync(TimeSpan delay)
    {
        await Task.Delay(delay, _time).ConfigureAwait(false);
        _client.Dispose();
    }

    /// <summary>Writes at most 123 bytes of UTF-8, never splitting a character.</summary>
    private static int EncodeReason(string reason, Span<byte> destination)
    {
        destination = destination[..MaxCloseReasonBytes];
        if (Encoding.UTF8.TryGetBytes(reason, destination, out int written))
        {
            return written;
        }
        var encoder = Encoding.UTF8.GetEncoder();
        encoder.Convert(reason.AsSpan(), destination, flush: true, out _, out written, out _);
        return written;
    }
}
