using System.Net;
using System.Net.Sockets;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// N WebSocket clients of one server, all in this process, with the counters they share: frames delivered, how
/// many connections have seen the current target event (the last of a burst), and the latency histogram.
/// Counters are process-wide longs touched once per received buffer, not per frame, where that is possible.
/// </summary>
internal sealed class Fleet : IAsyncDisposable
{
    private readonly List<LoadConnection> _connections = [];
    private TaskCompletionSource _allDone = NewSignal();
    private long _delivered;
    private long _doneCount;
    private long _target = long.MaxValue;

    public Fleet(IPEndPoint endPoint, string upgradePath, bool expectWelcome)
    {
        EndPoint = endPoint;
        UpgradePath = upgradePath;
        ExpectWelcome = expectWelcome;
    }

    public IPEndPoint EndPoint { get; }
    public string UpgradePath { get; }

    /// <summary>ProcessHub sends process_list first; a connection counts as ready only once it has it.</summary>
    public bool ExpectWelcome { get; }

    public int Count => _connections.Count;
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Per-event latencies of a paced run, when the scenario asks for them.</summary>
    public EventTimeline? Timeline { get; set; }

    /// <summary>Latency is recorded only for events whose send timestamp is at or after this.</summary>
    public long RecordFromTs { get; set; } = long.MaxValue;

    public long Delivered => Volatile.Read(ref _delivered);
    public long Closed;
    public long DoneAt;

    public long Target => Volatile.Read(ref _target);

    /// <summary>Watches for every connection to see an event with index at or above <paramref name="target"/>.</summary>
    public Task SetTarget(long target)
    {
        _allDone = NewSignal();
        Volatile.Write(ref _doneCount, 0);
        DoneAt = 0;
        Volatile.Write(ref _target, target);
        // Connections that have already passed it (none in a well-formed run) count at once.
        foreach (var connection in _connections)
        {
            connection.CheckTarget(target, MonotonicClock.Now);
        }
        return _allDone.Task;
    }

    public long DoneCount => Volatile.Read(ref _doneCount);

    internal void AddDelivered(long frames) => Interlocked.Add(ref _delivered, frames);

    internal void MarkDone(long now)
    {
        if (Interlocked.Increment(ref _doneCount) == _connections.Count)
        {
            DoneAt = now;
            _allDone.TrySetResult();
        }
    }

    /// <summary>Opens <paramref name="count"/> connections, <paramref name="parallel"/> handshakes at a time.</summary>
    public async Task ConnectAsync(int count, int parallel, int bufferSize, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var created = new LoadConnection[count];
        int next = -1;
        async Task Worker()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }
                var connection = new LoadConnection(this, bufferSize);
                created[i] = connection;
                // Bounded retries: a full accept backlog under a burst of connects is not a failure of the server.
                for (int attempt = 1; ; attempt++)
                {
                    try
                    {
                        await connection.OpenAsync(deadline.Token).ConfigureAwait(false);
                        break;
                    }
                    catch (Exception ex) when (ex is SocketException or IOException && attempt < 5)
                    {
                        connection.Dispose();
                        connection = new LoadConnection(this, bufferSize);
                        created[i] = connection;
                        await Task.Delay(50 * attempt, deadline.Token).ConfigureAwait(false);
                    }
                }
            }
        }
        var workers = new Task[Math.Min(parallel, count)];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Worker();
        }
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            foreach (var connection in created)
            {
                if (connection is not null)
                {
                    _connections.Add(connection);
                }
            }
        }
    }

    /// <summary>Deliveries counted so far, reset to zero (the welcome frames are not deliveries).</summary>
    public void ResetCounters()
    {
        Volatile.Write(ref _delivered, 0);
        Latency.Reset();
    }

    public ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
        _connections.Clear();
        return ValueTask.CompletedTask;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
