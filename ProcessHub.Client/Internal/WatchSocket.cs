using System.Buffers;
using System.Net.WebSockets;

namespace ProcessHub.Client.Internal;

/// <summary>
/// One WebSocket connection of a watcher: whole text messages in (into one reused, pooled buffer), serialized sends
/// out (<see cref="ClientWebSocket"/> allows one send at a time, and a cancel can come from any thread), and a polite
/// close: 1000 (1009 after a message over the limit), then the hub's answer or a short deadline.
/// </summary>
internal sealed class WatchSocket : IAsyncDisposable
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);
    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly int _maxMessageBytes;
    private readonly CancellationTokenSource _closeDeadline = new();
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private CancellationTokenRegistration _closeOnCancel;
    private int _disposed;
    // What the close frame says: 1000, or 1009 once a message over the limit was refused (RFC 6455 section 7.4.1).
    private volatile bool _tooBig;

    private WatchSocket(ClientWebSocket socket, int maxMessageBytes)
    {
        _socket = socket;
        _maxMessageBytes = maxMessageBytes;
        _closeDeadline.Token.UnsafeRegister(static state => ((ClientWebSocket)state!).Abort(), socket);
    }

    public int? CloseStatus => (int?)_socket.CloseStatus;
    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    /// <summary>Opens the connection with the token in the <c>Authorization</c> header (docs/protocol.md section 2).</summary>
    /// <exception cref="UpgradeRejectedException">The server answered the upgrade with another status than 101.</exception>
    public static async Task<WatchSocket> ConnectAsync(HubWatcherOptions options, Uri url, string token, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
            socket.Options.CollectHttpResponseDetails = true;
            // Client pings with a pong deadline: a hub that vanished without a FIN (a dead host, a cut cable) is
            // noticed within two intervals instead of never.
            socket.Options.KeepAliveInterval = options.KeepAliveInterval;
            socket.Options.KeepAliveTimeout = options.KeepAliveInterval > TimeSpan.Zero ? options.KeepAliveInterval : Timeout.InfiniteTimeSpan;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(url, deadline.Token).ConfigureAwait(false);
            }
            catch (WebSocketException ex) when (socket.HttpStatusCode is var status && status != 0 && (int)status != 101)
            {
                throw new UpgradeRejectedException((int)status, ex);
            }
            catch (Exception ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // Whatever the cancel surfaced as (an OperationCanceledException, or a WebSocketException around one,
                // with a SocketException "Operation canceled" inside), the attempt ran out of ConnectTimeout.
                throw new TimeoutException($"no answer within {options.ConnectTimeout.TotalSeconds:0.#} s", ex);
            }
            return new WatchSocket(socket, options.MaxMessageBytes);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The next whole text message, or null once the hub's close frame arrived (<see cref="CloseStatus"/> says why).
    /// The memory is valid until the next call. Not cancellable by design: cancelling a receive would abort the
    /// socket without a close frame; <see cref="CloseWhenCancelled"/> closes politely instead.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// A message is longer than the limit, to the byte; the connection's close frame then says 1009.
    /// </exception>
    public async ValueTask<ReadOnlyMemory<byte>?> ReceiveAsync()
    {
        // One byte past the limit is enough to know a message is too large. The window is cut to it, not to the
        // pooled array, which may be larger than asked for (a power of two).
        int window = (int)Math.Min((long)_maxMessageBytes + 1, Array.MaxLength);
        int length = 0;
        while (true)
        {
            if (length == Math.Min(_buffer.Length, window))
            {
                Grow(length, window);
            }
            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length, Math.Min(_buffer.Length, window) - length), CancellationToken.None).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }
            length += result.Count;
            if (length > _maxMessageBytes)
            {
                _tooBig = true;
                throw new InvalidDataException($"a message from the hub is larger than {_maxMessageBytes} bytes");
            }
            if (!result.EndOfMessage)
            {
                continue;
            }
            if (result.MessageType == WebSocketMessageType.Binary)
            {
                length = 0; // the hub sends text only (docs/protocol.md section 3); nothing to read in binary
                continue;
            }
            return _buffer.AsMemory(0, length);
        }
    }

    /// <summary>Sends one text message; <paramref name="cancellationToken"/> applies to waiting for the socket, not to the send itself.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A cancelled send would abort the whole connection: small messages are sent to the end.
            await _socket.SendAsync(utf8, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>When <paramref name="cancellationToken"/> fires: close with 1000, and abort if the hub has not answered within 2 s.</summary>
    public void CloseWhenCancelled(CancellationToken cancellationToken) =>
        _closeOnCancel = cancellationToken.UnsafeRegister(static state => ((WatchSocket)state!).BeginClose(), this);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _closeOnCancel.DisposeAsync().ConfigureAwait(false);
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            _closeDeadline.CancelAfter(CloseTimeout);
            await CloseOutputAsync().ConfigureAwait(false);
            if (_socket.State == WebSocketState.CloseSent)
            {
                await DrainUntilClosedAsync().ConfigureAwait(false);
            }
        }
        _socket.Dispose();
        _closeDeadline.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void BeginClose()
    {
        _closeDeadline.CancelAfter(CloseTimeout);
        _ = CloseOutputAsync();
    }

    // RFC 6455 section 7.1.2: send our close frame, then the hub answers with its own.
    private async Task CloseOutputAsync()
    {
        CancellationToken deadline;
        try
        {
            deadline = _closeDeadline.Token;
            await _sendLock.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return; // past the deadline, or a close from Ctrl+C lost the race with disposal: nothing to do
        }
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await (_tooBig
                    ? _socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "message too big", deadline)
                    : _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", deadline)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // Already gone: nothing left to close.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task DrainUntilClosedAsync()
    {
        try
        {
            while (_socket.State == WebSocketState.CloseSent)
            {
                var result = await _socket.ReceiveAsync(_buffer.AsMemory(), _closeDeadline.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The deadline passed or the hub went away: the socket is disposed next either way.
        }
    }

    // Called with a full buffer that is smaller than the window (the limit and one byte): never past the window.
    private void Grow(int length, int window)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)length * 2, window));
        _buffer.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
