using BenchmarkDotNet.Running;

namespace ProcessHub.Benchmarks;

// An explicit Program: ProcessHub's own top-level Program is visible here through InternalsVisibleTo,
// and two global `Program` types do not compile.
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
