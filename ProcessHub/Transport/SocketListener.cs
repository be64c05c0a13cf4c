using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace ProcessHub.Transport;

/// <summary>
/// The accept loop. Each accepted socket gets TCP_NODELAY (frames are small and latency matters) and is handed to
/// the connection callback, which owns it from then on; nothing a connection does can stop the loop. Accept errors are sorted like a
/// production server's: transient ones are logged and skipped, resource pressure (out of file descriptors)
/// backs off, a broken listener stops the loop cleanly.
/// </summary>
internal sealed class SocketListener : IDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);
    private readonly Socket _socket;
    private readonly ILogger _logger;

    /// <summary>
    /// Binds <paramref name="endPoint"/> (a port in use fails here) without listening yet: the command line binds before
    /// it opens the store or reaches Redis, so that a port that is taken fails the start before anything was created or
    /// waited for, and no connection is taken in before the hub can serve it (<see cref="Listen"/>).
    /// </summary>
    /// <exception cref="SocketException">The address cannot be bound (in use, not this machine's, no permission).</exception>
    public SocketListener(IPEndPoint endPoint, ILogger logger)
    {
        _logger = logger;
        _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            _socket.DualMode = true;
        }
        try
        {
            _socket.Bind(endPoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The bound address; with port 0 this tells which port the kernel chose.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Starts taking connections in; until then a client's connect is refused.</summary>
    public void Listen() => _socket.Listen(4096);

    /// <summary>Accepts until <paramref name="stopping"/> fires or the listener breaks.</summary>
    public async Task AcceptLoopAsync(Func<ClientConnection, Task> onConnection, CancellationToken stopping)
    {
        var backoff = TimeSpan.FromMilliseconds(10);
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex)
            {
                switch (AcceptErrorClassifier.Classify(ex.SocketErrorCode))
                {
                    case AcceptErrorKind.Transient:
                        _logger.LogDebug("accept failed transiently: {SocketError}", ex.SocketErrorCode);
                        continue;
                    case AcceptErrorKind.ResourcePressure:
                        _logger.LogWarning("accept failed under resource pressure ({SocketError}); backing off {Delay} ms", ex.SocketErrorCode, backoff.TotalMilliseconds);
                        try
                        {
                            await Task.Delay(backoff, stopping).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }
                        backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                        continue;
                    default:
                        _logger.LogError("accept failed fatally ({SocketError}); no longer accepting", ex.SocketErrorCode);
                        return;
                }
            }

            backoff = TimeSpan.FromMilliseconds(10);
            client.NoDelay = true;
            Dispatch(client, onConnection);
        }
    }

    public void Dispose() => _socket.Dispose();

    // The connection runs on the thread pool so the accept loop goes straight back to accepting. From here the
    // callback owns the connection (its disposal included); nothing here waits on it, so nothing is kept per connection.
    private void Dispatch(Socket client, Func<ClientConnection, Task> onConnection)
    {
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            var (socket, callback, logger) = state;
            ClientConnection? connection = null;
            try
            {
                connection = new ClientConnection(socket);
                _ = callback(connection);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "connection setup failed");
                connection?.Dispose();
                socket.Dispose();
            }
        }, (client, onConnection, _logger), preferLocal: false);
    }
}
