using System.Buffers.Text;
using System.Text.Json;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// Producers over the HTTP producer API, each on its own keep-alive connection (one blocking thread each) driving a
/// process of its own with <c>POST /api/processes/{id}/progress</c>, one request at a time as a real worker does:
/// the next report leaves once the last was acknowledged. Closed-loop (as fast as acknowledged) or paced to an
/// aggregate rate (the background load of the checkpoint scenario). Counts acknowledgements per whole second.
/// </summary>
internal sealed class HttpIngest : IDisposable
{
    private readonly TargetServer _target;
    private readonly string _token;
    private readonly RawHttpConnection[] _connections;
    private readonly string[] _paths;
    private long _errors;

    /// <summary>Opens <paramref name="producers"/> connections and creates one process for each.</summary>
    public HttpIngest(TargetServer target, string secret, int producers, string processType)
    {
        _target = target;
        _token = Tokens.Issue(secret, "ingest", producer: true);
        _connections = new RawHttpConnection[producers];
        _paths = new string[producers];
        byte[] create = System.Text.Encoding.UTF8.GetBytes($"{{\"process_type\":\"{processType}\",\"total\":1000000000,\"params\":{{\"suite\":\"mmlu\",\"shards\":64}}}}");
        for (int i = 0; i < producers; i++)
        {
            var connection = new RawHttpConnection(target.EndPoint);
            _connections[i] = connection;
            int status = connection.Send("POST", "/api/processes", _token, create);
            if (status != 201)
            {
                throw new InvalidOperationException($"{target.Name}: POST /api/processes answered {status}: {connection.LastBodyText}");
            }
            using var created = JsonDocument.Parse(connection.LastBodyText);
            _paths[i] = $"/api/processes/{created.RootElement.GetProperty("process_id").GetString()}/progress";
        }
    }

    public int Producers => _connections.Length;

    /// <summary>Requests answered other than 2xx.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Round trip of each acknowledged report, send to answer.</summary>
    public LatencyHistogram AckLatency { get; } = new();

    /// <summary>
    /// Reports until <paramref name="end"/> (CLOCK_MONOTONIC ns). With <paramref name="perSecond"/> 0 each producer
    /// sends its next report as soon as the last was answered; otherwise the producers share the rate, each on its
    /// own schedule. Returns acknowledged reports per whole second from <paramref name="start"/>.
    /// </summary>
    public long[] Run(long start, long end, double perSecond = 0)
    {
        int seconds = (int)Math.Ceiling(MonotonicClock.ToSeconds(end - start));
        var perSecondCounts = new long[Math.Max(1, seconds)];
        var threads = new Thread[_connections.Length];
        Exception? failure = null;
        for (int p = 0; p < threads.Length; p++)
        {
            int producer = p;
            threads[p] = new Thread(() =>
            {
                try
                {
                    Produce(producer, start, end, perSecond, perSecondCounts);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
                {
                    _connections[producer].Reset();
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            }) { IsBackground = true, Name = "ingest" };
            threads[p].Start();
        }
        foreach (var thread in threads)
        {
            thread.Join();
        }
        if (failure is not null)
        {
            throw new IOException($"ingest into {_target.Name} failed: {failure.Message}", failure);
        }
        return perSecondCounts;
    }

    private void Produce(int producer, long start, long end, double perSecond, long[] perSecondCounts)
    {
        var connection = _connections[producer];
        string path = _paths[producer];
        // Paced: producer p sends its k-th report at start + (k * producers + p) / rate.
        double period = perSecond > 0 ? 1e9 * _connections.Length / perSecond : 0;
        long offset = perSecond > 0 ? (long)(1e9 * producer / perSecond) : 0;
        MonotonicClock.SleepUntil(start + offset);
        for (long k = 0; ; k++)
        {
            if (period > 0)
            {
                long due = start + offset + (long)(k * period);
                if (due >= end)
                {
                    return;
                }
                MonotonicClock.SleepUntil(due);
            }
            long sent = MonotonicClock.Now;
            if (sent >= end)
            {
                return;
            }
            int status = connection.Send("POST", path, _token, 256, span => WriteProgress(span, k));
            long answered = MonotonicClock.Now;
            if (status is >= 200 and <= 299)
            {
                AckLatency.Record(answered - sent);
                int second = (int)((answered - start) / 1_000_000_000);
                if (answered < end && second < perSecondCounts.Length)
                {
                    Interlocked.Increment(ref perSecondCounts[second]);
                }
            }
            else if (Interlocked.Increment(ref _errors) == 1)
            {
                Console.Error.WriteLine($"ingest: {_target.Name} answered {status}: {connection.LastBodyText}");
            }
        }
    }

    /// <summary>
    /// A typical progress report, shaped like the built-in benchmark runner's:
    /// <c>{"current":k,"total":1000000000,"model":"GPT-4o","detail":"Run 2/3, Context 5K"}</c>.
    /// </summary>
    public static int WriteProgress(Span<byte> destination, long current)
    {
        int at = Put(destination, "{\"current\":"u8);
        Utf8Formatter.TryFormat(current, destination[at..], out int written);
        at += written;
        at += Put(destination[at..], ",\"total\":1000000000,\"model\":\"GPT-4o\",\"detail\":\"Run 2/3, Context 5K\"}"u8);
        return at;
    }

    private static int Put(Span<byte> destination, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination);
        return bytes.Length;
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
