namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// Publishes events to one server over a few keep-alive HTTP connections, one blocking thread each (so a paced
/// send leaves at its scheduled time without an async timer in the way). ProcessHub gets its real producer path,
/// <c>POST /api/processes/{id}/progress</c>; a peer gets <c>POST /publish</c>.
/// </summary>
internal sealed class Publisher : IDisposable
{
    private readonly TargetServer _target;
    private readonly RawHttpConnection[] _connections;
    private readonly string _path;
    private readonly string? _token;
    private long _errors;
    private long _lateSends;
    private long _drops;

    // A connection closed this many times in a row is a server that is gone, not one that shed a request.
    private const int MaxDropsInARow = 3;

    /// <summary>Paced sends of the last <see cref="Paced"/> that left more than 1 ms after their due time.</summary>
    public long LateSends => Volatile.Read(ref _lateSends);

    public Publisher(TargetServer target, int connections, string path, string? token)
    {
        _target = target;
        _path = path;
        _token = token;
        _connections = new RawHttpConnection[connections];
        for (int i = 0; i < connections; i++)
        {
            _connections[i] = new RawHttpConnection(target.EndPoint);
        }
    }

    /// <summary>Requests that did not answer 2xx.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>
    /// Events [first, first + count) as fast as the server takes them, all connections in flight; the last one
    /// alone once every other was acknowledged, so that it is the last the server sees. Past
    /// <paramref name="deadline"/> no more are sent, the last one neither, and false comes back.
    /// </summary>
    public bool Burst(long first, int count, long deadline = long.MaxValue)
    {
        long next = first;
        long last = first + count - 1;
        RunOnAll(connection =>
        {
            int droppedInARow = 0;
            for (int guard = 0; guard < 10_000_000; guard++)
            {
                // Claim up to PipelineDepth indices below the last one and send them pipelined.
                long from = Interlocked.Add(ref next, PipelineDepth) - PipelineDepth;
                int take = (int)Math.Min(PipelineDepth, last - from);
                if (take <= 0 || MonotonicClock.Now > deadline)
                {
                    return;
                }
                long ts = MonotonicClock.Now;
                int failed;
                try
                {
                    failed = connection.SendPipelined(take, RequestBytes, (span, i) => WriteRequest(connection, span, from + i, ts));
                    droppedInARow = 0;
                }
                catch (Exception ex) when ((ex is IOException or System.Net.Sockets.SocketException) && ++droppedInARow < MaxDropsInARow)
                {
                    // A server may close a connection whose pipelined request failed (ProcessHub does after a 503 when
                    // its engine timed out on a machine under heavy load): what was not answered counts as failed, and
                    // the connection is opened again, as a worker would.
                    if (Interlocked.Increment(ref _drops) == 1)
                    {
                        Console.Error.WriteLine($"publish: {_target.Name} closed a publishing connection ({ex.Message}); reconnecting");
                    }
                    connection.Reset();
                    failed = take;
                }
                if (failed > 0)
                {
                    Interlocked.Add(ref _errors, failed);
                }
            }
        });
        if (MonotonicClock.Now > deadline)
        {
            return false;
        }
        Publish(_connections[0], last, MonotonicClock.Now);
        return true;
    }

    /// <summary>Requests each connection sends back-to-back in a burst (HTTP/1.1 pipelining).</summary>
    public const int PipelineDepth = 8;

    private const int RequestBytes = 2048;

    private int WriteRequest(RawHttpConnection connection, Span<byte> span, long index, long ts)
    {
        // Body first, after room for the head; then the head, then the body moved behind it.
        const int HeadRoom = 1024;
        int bodyLength = EventBody.Write(_target.Kind, span[HeadRoom..], index, ts);
        int headLength = connection.WriteHead(span, "POST", _path, _token, bodyLength);
        span.Slice(HeadRoom, bodyLength).CopyTo(span[headLength..]);
        return headLength + bodyLength;
    }

    /// <summary>
    /// Open-loop events at <paramref name="perSecond"/> from <paramref name="start"/> until <paramref name="end"/>:
    /// event k is due at start + k/rate and carries that due time as its timestamp, so a late send (the server
    /// slow to take the previous request) shows as latency instead of hiding it. Returns the events sent.
    /// </summary>
    public long Paced(long first, double perSecond, long start, long end)
    {
        Volatile.Write(ref _lateSends, 0);
        double period = 1e9 / perSecond;
        long next = 0;
        long sent = 0;
        RunOnAll(connection =>
        {
            for (int guard = 0; guard < 10_000_000; guard++)
            {
                long k = Interlocked.Increment(ref next) - 1;
                long due = start + (long)(k * period);
                if (due >= end)
                {
                    return;
                }
                MonotonicClock.SleepUntil(due);
                // How late the send leaves: a publisher that cannot keep the schedule would be blamed on the server.
                long lag = MonotonicClock.Now - due;
                if (lag > 1_000_000)
                {
                    Interlocked.Increment(ref _lateSends);
                }
                Publish(connection, first + k, due);
                Interlocked.Increment(ref sent);
            }
        });
        return sent;
    }

    private void Publish(RawHttpConnection connection, long index, long ts)
    {
        var kind = _target.Kind;
        int status = connection.Send("POST", _path, _token, EventBody.MaxBytes, span => EventBody.Write(kind, span, index, ts));
        if (status is < 200 or > 299)
        {
            // The first failure is worth seeing; the count goes into the results.
            if (Interlocked.Increment(ref _errors) == 1)
            {
                Console.Error.WriteLine($"publish: {_target.Name} answered {status}: {connection.LastBodyText}");
            }
        }
    }

    private void RunOnAll(Action<RawHttpConnection> work)
    {
        var threads = new Thread[_connections.Length];
        Exception? failure = null;
        for (int i = 0; i < threads.Length; i++)
        {
            var connection = _connections[i];
            threads[i] = new Thread(() =>
            {
                try
                {
                    work(connection);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
                {
                    // A connection that failed for good: its socket is dropped, the next call reconnects.
                    connection.Reset();
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            }) { IsBackground = true, Name = "publisher" };
            threads[i].Start();
        }
        foreach (var thread in threads)
        {
            thread.Join();
        }
        if (failure is not null)
        {
            throw new IOException($"publishing to {_target.Name} failed: {failure.Message}", failure);
        }
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
