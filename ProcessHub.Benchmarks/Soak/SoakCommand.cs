namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// <c>soak [--minutes N | --seconds N] ...</c> the soak (<see cref="SoakRun"/>); <c>soak rss ...</c> the
/// connect/close memory cycles (<see cref="RssCycles"/>); <c>soak probes ...</c> the hostile probes (<see cref="Probes"/>).
/// </summary>
internal static class SoakCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            if (args.Length > 0 && args[0] == "rss")
            {
                return await RssCycles.RunAsync(args[1..]).ConfigureAwait(false);
            }
            if (args.Length > 0 && args[0] == "probes")
            {
                return await Probes.RunAsync(args[1..]).ConfigureAwait(false);
            }
            return await new SoakRun(SoakOptions.Parse(args)).RunAsync().ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"soak: {ex.Message}");
            Console.Error.WriteLine("usage: soak [--minutes N | --seconds N] [--hub ProcessHub.dll] [--store sqlite|memory] [--seed N] [--warmup SECONDS] [--report FILE]");
            Console.Error.WriteLine("       soak probes [--hub ProcessHub.dll]");
            Console.Error.WriteLine("       soak rss [--cycles 6] [--connections 3000] [--users 300] [--processes-per-user N] [--replay-tabs N] [--slope-from N] [--pause-after-first SECONDS] [--hub ProcessHub.dll] [--hold-seconds N]");
            return 2;
        }
    }
}
