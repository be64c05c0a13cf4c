using BenchmarkDotNet.Running;
using ProcessHub.Benchmarks.Durable;
using ProcessHub.Benchmarks.Load;
using ProcessHub.Benchmarks.ScaleOut;

namespace ProcessHub.Benchmarks;

// An explicit Program: ProcessHub's own top-level Program is visible here through InternalsVisibleTo,
// and two global `Program` types do not compile.
public static class Program
{
    /// <summary>
    /// <c>load ...</c> runs the fan-out load tool (Load/LoadCommand.cs), <c>durable ...</c> the durable-store benchmark
    /// (Durable/DurableCommand.cs), <c>soak ...</c> the soak (Soak/SoakCommand.cs), <c>scaleout ...</c> the scale-out
    /// benchmark (ScaleOut/ScaleOutCommand.cs), <c>lease-starvation ...</c> where a Redis lease survives a starved pool
    /// (ScaleOut/LeaseStarvationCommand.cs); anything else goes to BenchmarkDotNet.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "load")
        {
            return await LoadCommand.RunAsync(args[1..]);
        }
        if (args.Length > 0 && args[0] == "soak")
        {
            return await Soak.SoakCommand.RunAsync(args[1..]);
        }
        if (args.Length > 0 && args[0] == "durable")
        {
            return await DurableCommand.RunAsync(args[1..]);
        }
        if (args.Length > 0 && args[0] == "scaleout")
        {
            return await ScaleOutCommand.RunAsync(args[1..]);
        }
        if (args.Length > 0 && args[0] == "lease-starvation")
        {
            return await LeaseStarvationCommand.RunAsync(args[1..]);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
