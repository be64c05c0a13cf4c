using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// N WebSocket clients arriving together, as after a restart or a failover: each a TCP connect, an upgrade request
/// (pre-built, the token in <c>?token=</c>), and the wait for the server's first message (ProcessHub's
/// <c>process_list</c>, the peers' <c>{"type":"hello"}</c>). A fixed number of attempts is kept in flight, a new one
/// starting as soon as one has its first message. So that the time measured is the server's handshakes and not the
/// tool's own work, the sockets are created (and, over several source addresses, bound) before the clock starts,
/// the requests are built once, and each worker reads into one buffer of its own: nothing is allocated per
/// connection past what the socket itself needs. The clients stay open until <see cref="Dispose"/> (RST).
/// </summary>
internal sealed class ConnectionStorm : IDisposable
{
    private const int MaxAttempts = 5;
    private const int BufferSize = 4096;
    private readonly IPEndPoint _endPoint;
    private readonly byte[][] _requests;
    private readonly IPEndPoint[] _sources;
    private readonly Socket?[] _sockets;
    private int _next = -1;
    private int _succeeded;
    private int _failed;
    private int _retries;
    private long _lastDone;

    /// <param name="requests">Upgrade requests, client i sends number i mod their count (one per user).</param>
    /// <param name="sources">Loopback source addresses to spread the clients over (127.0.0.1, .2, ...); 1: the kernel picks.</param>
    public ConnectionStorm(IPEndPoint endPoint, byte[][] requests, int clients, int sources)
    {
        _endPoint = endPoint;
        _requests = requests;
        _sources = sources <= 1 ? [] : Enumerable.Range(1, sources).Select(i => new IPEndPoint(new IPAddress([127, 0, 0, (byte)i]), 0)).ToArray();
        _sockets = new Socket?[clients];
        for (int i = 0; i < clients; i++)
        {
            _sockets[i] = NewSocket(i);
        }
    }

    /// <summary>From each client's first connect attempt to its first message.</summary>
    public LatencyHistogram TimeToFirstMessage { get; } = new();

    public int Succeeded => Volatile.Read(ref _succeeded);

    /// <summary>Clients that had no first message after every attempt (or by the timeout).</summary>
    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Attempts that failed and were made again (refused or reset connections, a close before the first message).</summary>
    public int Retries => Volatile.Read(ref _retries);

    /// <summary>When the last client had its first message (CLOCK_MONOTONIC ns), 0 if none did.</summary>
    public long LastDone => Volatile.Read(ref _lastDone);

    /// <summary>Runs the storm with <paramref name="parallel"/> attempts in flight; returns its start (CLOCK_MONOTONIC ns).</summary>
    public async Task<long> RunAsync(int parallel, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var workers = new Task[Math.Clamp(parallel, 1, _sockets.Length)];
        long start = MonotonicClock.Now;
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = WorkerAsync(new byte[BufferSize], deadline.Token);
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        return start;
    }

    private Socket NewSocket(int client)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (_sources.Length > 0)
        {
            // One loopback address has about 28,000 ephemeral ports towards one server port; more clients need more.
            socket.Bind(_sources[client % _sources.Length]);
        }
        return socket;
    }

    private async Task WorkerAsync(byte[] buffer, CancellationToken cancel)
    {
        while (true)
        {
            int client = Interlocked.Increment(ref _next);
            if (client >= _sockets.Length)
            {
                return;
            }
            long began = MonotonicClock.Now;
            for (int attempt = 1; ; attempt++)
            {
                var socket = _sockets[client] ??= NewSocket(client);
                try
                {
                    await socket.ConnectAsync(_endPoint, cancel).ConfigureAwait(false);
                    var request = _requests[client % _requests.Length];
                    for (int sent = 0; sent < request.Length;)
                    {
                        sent += await socket.SendAsync(request.AsMemory(sent), SocketFlags.None, cancel).ConfigureAwait(false);
                    }
                    await ReadFirstMessageAsync(socket, buffer, cancel).ConfigureAwait(false);
                    long now = MonotonicClock.Now;
                    TimeToFirstMessage.Record(now - began);
                    Interlocked.Increment(ref _succeeded);
                    for (long last = Volatile.Read(ref _lastDone); now > last; last = Volatile.Read(ref _lastDone))
                    {
                        if (Interlocked.CompareExchange(ref _lastDone, now, last) == last)
                        {
                            break;
                        }
                    }
                    break;
                }
                catch (Exception ex) when (ex is SocketException or IOException && attempt < MaxAttempts && !cancel.IsCancellationRequested)
                {
                    // A full accept queue or a server that shed the connection: a real client would come back too.
                    Interlocked.Increment(ref _retries);
                    socket.Dispose();
                    _sockets[client] = null;
                    try
                    {
                        await Task.Delay(20 * attempt, cancel).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        Interlocked.Increment(ref _failed);
                        break;
                    }
                }
                catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
                {
                    Interlocked.Increment(ref _failed);
                    break;
                }
            }
        }
    }

    /// <summary>Reads the 101 response and then one whole WebSocket frame (a larger first message is read past, not kept).</summary>
    private static async Task ReadFirstMessageAsync(Socket socket, byte[] buffer, CancellationToken cancel)
    {
        int end = 0;
        int body = -1;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, cancel).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("the server closed before its first message");
            }
            end += n;
            if (body < 0)
            {
                int headEnd = buffer.AsSpan(0, end).IndexOf("\r\n\r\n"u8);
                if (headEnd < 0)
                {
                    if (end == buffer.Length)
                    {
                        throw new IOException("upgrade response too large");
                    }
                    continue;
                }
                if (!buffer.AsSpan(0, Math.Min(end, 12)).SequenceEqual("HTTP/1.1 101"u8))
                {
                    throw new IOException("upgrade refused: " + System.Text.Encoding.ASCII.GetString(buffer, 0, Math.Min(end, 80)));
                }
                body = headEnd + 4;
            }
            long frame = FrameLength(buffer.AsSpan(body, end - body));
            if (frame >= 0 && end - body >= frame)
            {
                return;
            }
            if (end == buffer.Length)
            {
                if (frame < 0)
                {
                    throw new IOException("first frame header past the buffer");
                }
                for (long remaining = frame - (end - body); remaining > 0; remaining -= n)
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new IOException("the server closed during its first message");
                    }
                }
                return;
            }
        }
    }

    /// <summary>Header plus payload length of the server frame that <paramref name="data"/> begins with; -1 while its header is incomplete.</summary>
    private static long FrameLength(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            return -1;
        }
        long length = data[1] & 0x7F;
        return length switch
        {
            126 => data.Length < 4 ? -1 : 4 + BinaryPrimitives.ReadUInt16BigEndian(data[2..]),
            127 => data.Length < 10 ? -1 : 10 + BinaryPrimitives.ReadInt64BigEndian(data[2..]),
            _ => 2 + length,
        };
    }

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            if (socket is null)
            {
                continue;
            }
            try
            {
                // RST rather than FIN + TIME_WAIT: tens of thousands of connections per run.
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
            socket.Dispose();
        }
    }
}
