using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace ProcessHub.Transport;

/// <summary>
/// The accept loop. Each accepted socket gets TCP_NODELAY (frames are small and latency matters) and is handed to
/// the connection callback, which owns it from then on; nothing a connection does can stop the loop. Accept errors are sorted like a
/// production server's: transient ones are logged and skipped, resource pressure (out of file descriptors)
/// backs off, a broken listener stops the loop cleanly. The sockets it holds at once are kept within what the
/// process's open-file limit leaves room for (<see cref="OpenFileLimit"/>): past that, new connections wait in the
/// listen backlog until some close, instead of the process running out of files.
/// </summary>
internal sealed class SocketListener : IDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    /// <summary>How often a listener that is full looks again.</summary>
    private static readonly TimeSpan FullRecheck = TimeSpan.FromMilliseconds(50);

    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly Action _onSocketClosed;
    private int _openSockets;
    private long _timesFull;
    // One warning per 10 s at most, with how many were held back: a listener at its limit hits it again at every
    // connection that closes, and said so each time (3,600 lines an hour).
    private readonly LogThrottle _fullWarnings = new(TimeSpan.FromSeconds(10));
    private readonly LogThrottle _pressureWarnings = new(TimeSpan.FromSeconds(10));

    // A connection that cannot be set up is the machine's state, not the client's: once it fails, each one after it
    // fails too (86,503 lines with stack traces in 3 minutes, seen when a type failed to load).
    private readonly LogThrottle _setupFailures = new(TimeSpan.FromSeconds(10));

    /// <summary>
    /// Binds <paramref name="endPoint"/> (a port in use fails here) without listening yet: the command line binds before
    /// it opens the store or reaches Redis, so that a port that is taken fails the start before anything was created or
    /// waited for, and no connection is taken in before the hub can serve it (<see cref="Listen"/>).
    /// </summary>
    /// <exception cref="SocketException">The address cannot be bound (in use, not this machine's, no permission).</exception>
    public SocketListener(IPEndPoint endPoint, ILogger logger)
    {
        _logger = logger;
        _onSocketClosed = () => Interlocked.Decrement(ref _openSockets);
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

    /// <summary>
    /// The sockets this listener holds at most, from the open-file limit and the files open when it started listening
    /// (the store's and Redis's among them); null where there is no limit to keep to.
    /// </summary>
    public int? SocketCapacity { get; private set; }

    /// <summary>Times the loop stopped accepting because it held <see cref="SocketCapacity"/> sockets.</summary>
    public long TimesFull => Interlocked.Read(ref _timesFull);

    /// <summary>Accepted sockets not yet closed.</summary>
    public int OpenSockets => Volatile.Read(ref _openSockets);

    /// <summary>Starts taking connections in; until then a client's connect is refused.</summary>
    public void Listen()
    {
        SocketCapacity = OpenFileLimit.SocketCapacity();
        _socket.Listen(4096);
    }

    /// <summary>Accepts until <paramref name="stopping"/> fires or the listener breaks.</summary>
    public async Task AcceptLoopAsync(Func<ClientConnection, Task> onConnection, CancellationToken stopping)
    {
        var backoff = TimeSpan.FromMilliseconds(10);
        while (!stopping.IsCancellationRequested)
        {
            if (SocketCapacity is int capacity && OpenSockets >= capacity && !await WaitForRoomAsync(capacity, stopping).ConfigureAwait(false))
            {
                break;
            }
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
                        if (_pressureWarnings.TryPass(DateTimeOffset.UtcNow, out long heldBack))
                        {
                            _logger.LogWarning("accept failed under resource pressure ({SocketError}; {HeldBack} more since the last such line, which comes once every 10 s at most); backing off up to {Delay} ms", ex.SocketErrorCode, heldBack, MaxBackoff.TotalMilliseconds);
                        }
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
            Interlocked.Increment(ref _openSockets);
            Dispatch(client, onConnection);
        }
    }

    // Full: the kernel keeps completing handshakes into the backlog, and those clients wait there until sockets close.
    // False when stopping.
    private async Task<bool> WaitForRoomAsync(int capacity, CancellationToken stopping)
    {
        Interlocked.Increment(ref _timesFull);
        if (_fullWarnings.TryPass(DateTimeOffset.UtcNow, out long heldBack))
        {
            _logger.LogWarning(
                "{Capacity} connections open, as many as the open-file limit leaves room for: new connections wait in the listen backlog until some close (raise the limit with ulimit -n or LimitNOFILE=; full {HeldBack} more times since the last such line, which comes once every 10 s at most)",
                capacity, heldBack);
        }
        try
        {
            while (OpenSockets >= capacity)
            {
                await Task.Delay(FullRecheck, stopping).ConfigureAwait(false);
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();

    // The connection runs on the thread pool so the accept loop goes straight back to accepting. From here the
    // callback owns the connection (its disposal included); nothing here waits on it, so nothing is kept per connection.
    private void Dispatch(Socket client, Func<ClientConnection, Task> onConnection)
    {
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            var (socket, callback, listener) = state;
            ClientConnection? connection = null;
            try
            {
                connection = new ClientConnection(socket, listener._onSocketClosed);
                _ = callback(connection);
            }
            catch (Exception ex)
            {
                if (listener._setupFailures.TryPass(DateTimeOffset.UtcNow, out long heldBack))
                {
                    listener._logger.LogError(ex, "connection setup failed ({HeldBack} more since the last such line, which comes once every 10 s at most)", heldBack);
                }
                if (connection is not null)
                {
                    connection.Dispose();
                }
                else
                {
                    socket.Dispose();
                    listener._onSocketClosed();
                }
            }
        }, (client, onConnection, this), preferLocal: false);
    }
}
