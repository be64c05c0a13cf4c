using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// Splits a paced run's events into those in flight while a checkpoint ran (from the event's due time to its last
/// receipt, overlapping a checkpoint's window) and the others, and compares their latencies: if checkpoints held up the
/// delivery path, the first group would be slower by about a checkpoint's duration.
/// </summary>
internal static class CheckpointOverlap
{
    public static void AddTo(Dictionary<string, double> values, EventTimeline timeline, IReadOnlyList<(long From, long To)> checkpoints)
    {
        var during = new List<long>();
        var outside = new List<long>();
        // The first 0.5 s is not recorded (the scenario's warm-up): those events have no latency.
        for (int k = 0; k < timeline.Count; k++)
        {
            var (due, latency) = timeline[k];
            if (latency < 0)
            {
                continue;
            }
            bool overlaps = checkpoints.Any(c => due <= c.To && due + latency >= c.From);
            (overlaps ? during : outside).Add(latency);
        }
        values["events_during_checkpoints"] = during.Count;
        values["during_checkpoints_p50_us"] = Percentile(during, 0.50);
        values["during_checkpoints_p99_us"] = Percentile(during, 0.99);
        values["outside_checkpoints_p50_us"] = Percentile(outside, 0.50);
        values["outside_checkpoints_p99_us"] = Percentile(outside, 0.99);
    }

    private static double Percentile(List<long> latencies, double q)
    {
        if (latencies.Count == 0)
        {
            return 0;
        }
        latencies.Sort();
        return latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)] / 1e3;
    }
}
