using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ProcessHub.Tests.Client;

/// <summary>
/// A loopback server that accepts connections and never answers: a request in flight (or a WebSocket upgrade waiting
/// for its 101) for as long as the test likes. <see cref="Accepted"/> completes once a client has connected, so a
/// test knows its request is under way without waiting on the clock.
/// </summary>
internal sealed class SilentServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<TcpClient> _held = new();
    private readonly TaskCompletionSource _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _accepting;

    public SilentServer()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Completes when the first connection is accepted.</summary>
    public Task Accepted => _accepted.Task;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync();
                _held.Enqueue(client); // held open, never read from nor answered
                _accepted.TrySetResult();
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The listener stopped: the test is over.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting;
        while (_held.TryDequeue(out var client))
        {
            client.Dispose();
        }
    }
}
