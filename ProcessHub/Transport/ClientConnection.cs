using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace ProcessHub.Transport;

/// <summary>
/// One accepted TCP connection: the socket, its receive pipe and its raw send path. Receiving goes through a
/// <see cref="PipeReader"/> (<see cref="SocketPipeReader"/>) that waits for readiness through epoll, so a connection
/// waiting for data holds no receive buffer and no async receive state (memory per idle connection is a headline figure). Sending is the
/// <see cref="ITransportSender"/> the outbound queue writes to.
/// </summary>
internal sealed class ClientConnection : ITransportConnection
{
    private static long s_nextId;

    private readonly Socket _socket;
    private readonly SocketPipeReader _input;
    private readonly Action? _onClosed;
    private int _disposed;

    /// <param name="onClosed">Called once, when the socket has been closed (the listener counts the sockets it holds).</param>
    public ClientConnection(Socket socket, Action? onClosed = null)
    {
        _socket = socket;
        _onClosed = onClosed;
        Id = Interlocked.Increment(ref s_nextId);
        RemoteEndPoint = socket.RemoteEndPoint;
        // Sends and receives try the kernel directly and go async only when it would block (see SendAsync). With epoll
        // the descriptor is made non-blocking behind the runtime's back, which keeps the socket's async context (about
        // 220 bytes) from being created at all (see RawSocketIo).
        if (RawSocketIo.IsSupported)
        {
            RawSocketIo.SetNonBlocking(socket.SafeHandle);
        }
        else
        {
            _socket.Blocking = false;
        }
        _input = new SocketPipeReader(socket);
    }

    public long Id { get; }
    public EndPoint? RemoteEndPoint { get; }
    public PipeReader Input => _input;
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// How long a send that would block may wait without the peer taking a byte before the connection is closed
    /// (infinite: no limit). A client that sends requests and never reads the answers held its connection, and what
    /// was queued on it, for ever.
    /// </summary>
    public TimeSpan SendStallLimit { get; set; } = Timeout.InfiniteTimeSpan;

    // What a peer must take within the stall limit to count as reading: 64 KiB in 30 s is about 2 KB/s.
    private const int StallSlice = 64 * 1024;

    /// <summary>
    /// Sends every byte. A non-blocking send first: while the kernel's buffer has room (nearly always) the bytes go
    /// out on this thread with no async machinery at all; only a send that would block continues asynchronously.
    /// A connection that never blocks never allocates the socket's async send state (a few hundred bytes each).
    /// Callers never overlap sends on one connection (the outbound queue drains one batch at a time).
    /// </summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        SocketError error;
        int sent = RawSocketIo.IsSupported
            ? RawSocketIo.Send(_socket.SafeHandle, data.Span, out error)
            : _socket.Send(data.Span, SocketFlags.None, out error);
        switch (error)
        {
            case SocketError.Success:
                return sent == data.Length ? ValueTask.CompletedTask : SendRestAsync(data[sent..]);
            case SocketError.WouldBlock:
                return SendRestAsync(data);
            default:
                return ValueTask.FromException(new SocketException((int)error));
        }
    }

    /// <summary>Half-closes: our FIN goes out after whatever is queued in the kernel (RFC 6455 7.1.1).</summary>
    public void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing left to shut down.
        }
    }

    /// <summary>Closes the socket; a pending receive ends, and the connection's loops unwind.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            _socket.Dispose();
        }
        catch (SocketException)
        {
            // Closing a socket the peer already reset.
        }
        _onClosed?.Invoke();
        // A read waiting on the readiness poller is not ended by the close itself (closing removes the socket from
        // epoll without an event), so end it here.
        _input.Abort();
    }

    private async ValueTask SendRestAsync(ReadOnlyMemory<byte> rest)
    {
        var limit = SendStallLimit;
        if (limit == Timeout.InfiniteTimeSpan)
        {
            while (!rest.IsEmpty)
            {
                int sent = await _socket.SendAsync(rest, SocketFlags.None).ConfigureAwait(false);
                rest = rest[sent..];
            }
            return;
        }
        // Only a send that blocked gets here, so the timer costs nothing on the usual path. In slices: a socket send
        // completes only once all it was given is sent, so a timer around one large send would cut off a slow client
        // that is still reading; around a slice it measures time without progress.
        using var stalled = new CancellationTokenSource();
        while (!rest.IsEmpty)
        {
            stalled.CancelAfter(limit); // from the last slice the peer took
            int sent;
            try
            {
                sent = await _socket.SendAsync(rest[..Math.Min(rest.Length, StallSlice)], SocketFlags.None, stalled.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stalled.IsCancellationRequested)
            {
                Dispose();
                throw new IOException($"the peer took nothing for {limit.TotalSeconds:0.#} s; the connection is closed");
            }
            rest = rest[sent..];
        }
    }
}
