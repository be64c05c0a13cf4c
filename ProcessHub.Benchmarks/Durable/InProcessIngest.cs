using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// Producers inside the hub's process (<see cref="ProcessProducer"/> / <see cref="ProcessHandle"/>): each starts a
/// process and calls <c>ReportProgressAsync</c> in a loop, awaiting each report (acknowledged once durable and
/// published) before the next, until the deadline.
/// </summary>
internal static class InProcessIngest
{
    /// <summary>Acknowledged reports per whole second from the start, and the acknowledgement latencies.</summary>
    public static async Task<(long[] PerSecond, LatencyHistogram Latency)> RunAsync(InProcessHub hub, int producers, double seconds)
    {
        var handles = new ProcessHandle[producers];
        for (int i = 0; i < producers; i++)
        {
            handles[i] = await hub.Producer.StartAsync("ingest", "ingest", total: 1_000_000_000, parameters: new { suite = "mmlu", shards = 64 }).ConfigureAwait(false);
        }
        var counts = new long[Math.Max(1, (int)Math.Ceiling(seconds))];
        var latency = new LatencyHistogram();
        long start = MonotonicClock.Now;
        long end = start + MonotonicClock.FromSeconds(seconds);
        var loops = new Task[producers];
        for (int i = 0; i < producers; i++)
        {
            var handle = handles[i];
            loops[i] = Task.Run(async () =>
            {
                for (int k = 1; ; k++)
                {
                    long sent = MonotonicClock.Now;
                    if (sent >= end)
                    {
                        return;
                    }
                    await handle.ReportProgressAsync(k, 1_000_000_000, "GPT-4o", "Run 2/3, Context 5K").ConfigureAwait(false);
                    long answered = MonotonicClock.Now;
                    latency.Record(answered - sent);
                    int second = (int)((answered - start) / 1_000_000_000);
                    if (answered < end && second < counts.Length)
                    {
                        Interlocked.Increment(ref counts[second]);
                    }
                    if ((k & 1023) == 0)
                    {
                        // The memory store answers synchronously: let the other producers have the thread now and then.
                        await Task.Yield();
                    }
                }
            });
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
        foreach (var handle in handles)
        {
            await handle.CompleteAsync().ConfigureAwait(false);
        }
        return (counts, latency);
    }
}
