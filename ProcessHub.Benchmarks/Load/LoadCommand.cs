using System.Globalization;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// <c>load run ...</c> the fan-out benchmark against servers the bench script started;
/// <c>load smoke ...</c> a tiny check that every event reaches every connection (CI);
/// <c>load raw-server --port P</c> the calibration sender.
/// </summary>
internal static class LoadCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        MonotonicClock.EnsureNanoseconds();
        string verb = args.Length > 0 ? args[0] : "";
        try
        {
            switch (verb)
            {
                case "run":
                    return await new BenchRunner(BenchOptions.Parse(args[1..])).RunAsync().ConfigureAwait(false);
                case "smoke":
                    return await SmokeAsync(args[1..]).ConfigureAwait(false);
                case "hold":
                    return await HoldAsync(args[1..]).ConfigureAwait(false);
                case "raw-server":
                    using (var stop = new CancellationTokenSource())
                    {
                        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
                        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
                        return await RawSender.RunAsync(int.Parse(Option(args, "--port") ?? "0", CultureInfo.InvariantCulture), stop.Token).ConfigureAwait(false);
                    }
                default:
                    Console.Error.WriteLine("usage: load run --server name=processhub|peer:port:pid ... [--raw port:pid] [--secret S] [options]");
                    Console.Error.WriteLine("       load smoke --server name=kind:port:pid [--secret S] [--connections 3] [--events 20]");
                    Console.Error.WriteLine("       load hold --server name=kind:port:pid [--secret S] [--connections 1000] [--seconds 30]");
                    Console.Error.WriteLine("       load raw-server --port P");
                    return 2;
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"load: {ex.Message}");
            return 2;
        }
    }

    /// <summary>
    /// Events one at a time (each awaited at every client before the next, so nothing is ever coalesced) to a few
    /// connections; prints "smoke: delivered X of Y" and exits 0 when every event reached every connection.
    /// </summary>
    private static async Task<int> SmokeAsync(string[] args)
    {
        var target = TargetServer.Parse(Option(args, "--server") ?? throw new ArgumentException("--server is required"));
        int connections = int.Parse(Option(args, "--connections") ?? "3", CultureInfo.InvariantCulture);
        int events = int.Parse(Option(args, "--events") ?? "20", CultureInfo.InvariantCulture);
        using var context = BenchContext.Create(target, Option(args, "--secret"), publishers: 1);
        var fleet = context.NewFleet();
        await using (fleet.ConfigureAwait(false))
        {
            await fleet.ConnectAsync(connections, connections, 16 * 1024, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            fleet.ResetCounters();
            fleet.RecordFromTs = 0;
            for (int i = 0; i < events; i++)
            {
                long index = context.NextIndex++;
                var done = fleet.SetTarget(index);
                await Task.Run(() => context.Publisher.Burst(index, 1)).ConfigureAwait(false);
                try
                {
                    await done.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    break;
                }
            }
            long expected = (long)connections * events;
            var latency = fleet.Latency;
            Console.WriteLine($"smoke: delivered {fleet.Delivered} of {expected}; publish errors {context.Publisher.Errors}; "
                + $"latency p50 {latency.Percentile(0.5) / 1e3:F0} us, max {latency.Max / 1e3:F0} us");
            return fleet.Delivered == expected && context.Publisher.Errors == 0 ? 0 : 1;
        }
    }

    /// <summary>
    /// Opens N idle connections and holds them for a while (bounded), for profiling a server by hand, e.g. with
    /// dotnet-gcdump while they are open.
    /// </summary>
    private static async Task<int> HoldAsync(string[] args)
    {
        var target = TargetServer.Parse(Option(args, "--server") ?? throw new ArgumentException("--server is required"));
        int connections = int.Parse(Option(args, "--connections") ?? "1000", CultureInfo.InvariantCulture);
        double seconds = Math.Min(600, double.Parse(Option(args, "--seconds") ?? "30", CultureInfo.InvariantCulture));
        using var context = BenchContext.Create(target, Option(args, "--secret"), publishers: 1);
        var fleet = context.NewFleet();
        await using (fleet.ConfigureAwait(false))
        {
            await fleet.ConnectAsync(connections, 128, 4096, TimeSpan.FromSeconds(90)).ConfigureAwait(false);
            Console.WriteLine($"hold: {connections} connections open for {seconds} s");
            await Task.Delay(TimeSpan.FromSeconds(seconds)).ConfigureAwait(false);
        }
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}
