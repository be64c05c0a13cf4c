using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>
/// <c>scaleout [options]</c>: three hubs on one Redis against a lone hub (docs/benchmarks.md, "Scale-out on Redis"; run
/// by <c>./run.sh bench scaleout</c>). Options in <see cref="ScaleOutOptions"/>; <c>--scenarios</c> picks from
/// ingest, latency, fanout, failover.
/// </summary>
internal static class ScaleOutCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        MonotonicClock.EnsureNanoseconds();
        try
        {
            return await new ScaleOutRunner(ScaleOutOptions.Parse(args)).RunAsync().ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"scaleout: {ex.Message}");
            Console.Error.WriteLine("usage: scaleout [--scenarios ingest,latency,fanout,failover] [--runs 3] [--hub-cpus 0] [--redis-cpus 1] [--markdown docs/benchmarks.md] [...]; see ProcessHub.Benchmarks/ScaleOut/ScaleOutOptions.cs");
            return 2;
        }
    }
}
