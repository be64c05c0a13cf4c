using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// <c>durable [options]</c>: the durable (sqlite) store against the memory store (docs/benchmarks.md, "Durable store";
/// run by <c>./run.sh bench durable</c>). Options in <see cref="DurableOptions"/>; <c>--scenarios</c> picks from
/// fanout, latency, ingest, inproc, wal, restart.
/// </summary>
internal static class DurableCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        MonotonicClock.EnsureNanoseconds();
        try
        {
            return await new DurableRunner(DurableOptions.Parse(args)).RunAsync().ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"durable: {ex.Message}");
            Console.Error.WriteLine("usage: durable [--scenarios fanout,latency,ingest,inproc,wal,restart] [--runs 3] [--server-cpus 0] [--markdown docs/benchmarks.md] [...]; see ProcessHub.Benchmarks/Durable/DurableOptions.cs");
            return 2;
        }
    }
}
