// `load ...` runs the fan-out load tool (Load/LoadCommand.cs); anything else goes to BenchmarkDotNet's switcher.
if (args.Length > 0 && args[0] == "load")
{
    return await ProcessHub.Benchmarks.Load.LoadCommand.RunAsync(args[1..]);
}
BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(ProcessHub.Benchmarks.Load.LoadCommand).Assembly).Run(args);
return 0;
