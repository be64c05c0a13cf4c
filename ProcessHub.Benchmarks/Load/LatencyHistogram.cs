namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// A lock-free log-linear histogram of nanosecond latencies: 128 linear sub-buckets per power of two, so any
/// percentile is within 1% of the true value, and recording is one Interlocked.Increment (no allocation).
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 7;
    private const int SubCount = 1 << SubBits;
    private readonly long[] _counts = new long[64 * SubCount];
    private long _max;
    private long _total;

    public long Count => Volatile.Read(ref _total);

    public void Record(long valueNs)
    {
        if (valueNs < 0)
        {
            valueNs = 0;
        }
        Interlocked.Increment(ref _counts[Index(valueNs)]);
        Interlocked.Increment(ref _total);
        long max = Volatile.Read(ref _max);
        while (valueNs > max)
        {
            long seen = Interlocked.CompareExchange(ref _max, valueNs, max);
            if (seen == max)
            {
                break;
            }
            max = seen;
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        _max = 0;
        _total = 0;
    }

    public long Max => Volatile.Read(ref _max);

    /// <summary>A new histogram holding the samples of all those given (e.g. the fleets of several hubs).</summary>
    public static LatencyHistogram Merge(IEnumerable<LatencyHistogram> histograms)
    {
        var merged = new LatencyHistogram();
        foreach (var histogram in histograms)
        {
            for (int i = 0; i < merged._counts.Length; i++)
            {
                merged._counts[i] += Volatile.Read(ref histogram._counts[i]);
            }
            merged._total += histogram.Count;
            merged._max = Math.Max(merged._max, histogram.Max);
        }
        return merged;
    }

    /// <summary>The value at quantile q (0..1): the upper edge of the bucket that holds it.</summary>
    public long Percentile(double q)
    {
        long total = Count;
        if (total == 0)
        {
            return 0;
        }
        long rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), Max);
            }
        }
        return Max;
    }

    private static int Index(long value)
    {
        if (value < SubCount)
        {
            return (int)value;
        }
        int exponent = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value) - SubBits + 1;
        int sub = (int)(value >> exponent);
        return exponent * SubCount + sub;
    }

    private static long UpperEdge(int index)
    {
        int exponent = index / SubCount;
        long sub = index % SubCount;
        if (exponent == 0)
        {
            return sub;
        }
        return ((sub + 1) << exponent) - 1;
    }
}
