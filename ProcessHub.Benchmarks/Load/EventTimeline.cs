namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// For a paced run: each event's scheduled send time and the longest time any client took to receive it, so that
/// events can be grouped by what the server was doing meanwhile (a checkpoint of the durable store, for instance).
/// One slot per event index, updated with a compare-and-swap; nothing allocated per frame.
/// </summary>
internal sealed class EventTimeline
{
    private readonly long _firstIndex;
    private readonly long[] _maxLatency;

    public EventTimeline(long firstIndex, int events, long start, double perSecond)
    {
        _firstIndex = firstIndex;
        _maxLatency = new long[events];
        Array.Fill(_maxLatency, -1);
        Start = start;
        PeriodNs = 1e9 / perSecond;
    }

    /// <summary>When event 0 was due (CLOCK_MONOTONIC ns); event k was due at Start + k * PeriodNs.</summary>
    public long Start { get; }

    public double PeriodNs { get; }

    public int Count => _maxLatency.Length;

    public void Record(long index, long latencyNs)
    {
        long slot = index - _firstIndex;
        if (slot < 0 || slot >= _maxLatency.Length)
        {
            return;
        }
        ref long cell = ref _maxLatency[slot];
        long seen = Volatile.Read(ref cell);
        while (latencyNs > seen)
        {
            long was = Interlocked.CompareExchange(ref cell, latencyNs, seen);
            if (was == seen)
            {
                break;
            }
            seen = was;
        }
    }

    /// <summary>Event k's due time and the longest latency of it at any client; -1 if no client recorded it.</summary>
    public (long Due, long MaxLatency) this[int k] => (Start + (long)(k * PeriodNs), Volatile.Read(ref _maxLatency[k]));
}
