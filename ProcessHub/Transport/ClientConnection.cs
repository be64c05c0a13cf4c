using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using ProcessHub.Outbound;

namespace ProcessHub.Transport;

/// <summary>
/// One accepted TCP connection: the socket, its receive pipe and its raw send path. Receiving goes through a
/// <see cref="PipeReader"/> that issues zero-byte reads, so a connection waiting for data holds no receive
/// buffer (memory per idle connection is a headline figure). Sending is the <see cref="IFrameTransport"/>
/// the outbound queue writes to.
/// </summary>
internal sealed class ClientConnection : ITransportConnection
{
    private static long s_nextId;
    private readonly Socket _socket;
    private int _disposed;

    public ClientConnection(Socket socket)
    {
        _socket = socket;
        Id = Interlocked.Increment(ref s_nextId);
        RemoteEndPoint = socket.RemoteEndPoint;
        var stream = new NetworkStream(socket, ownsSocket: false);
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
    }

    public long Id { get; }
    public EndPoint? RemoteEndPoint { get; }
    public PipeReader Input { get; }
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Sends every byte. Completes synchronously while the kernel send buffer has room.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        // Fast path: one send that takes everything needs no state machine.
        var pending = _socket.SendAsync(data, SocketFlags.None);
        if (pending.IsCompletedSuccessfully)
        {
            int sent = pending.Result;
            return sent == data.Length ? ValueTask.CompletedTask : SendRestAsync(data[sent..]);
        }
        return AwaitSendAsync(pending, data);
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
    }

    private async ValueTask AwaitSendAsync(ValueTask<int> pending, ReadOnlyMemory<byte> data)
    {
        int sent = await pending.ConfigureAwait(false);
        if (sent < data.Length)
        {
            await SendRestAsync(data[sent..]).ConfigureAwait(false);
        }
    }

    private async ValueTask SendRestAsync(ReadOnlyMemory<byte> rest)
    {
        while (!rest.IsEmpty)
        {
            int sent = await _socket.SendAsync(rest, SocketFlags.None).ConfigureAwait(false);
            rest = rest[sent..];
        }
    }
}
