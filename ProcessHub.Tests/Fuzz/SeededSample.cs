using CsCheck;

namespace ProcessHub.Tests.Fuzz;

/// <summary>
/// CsCheck with a fixed sequence of seeds: the same inputs on every run and machine, bounded by a count, not a time.
/// Each iteration is its own one-sample run, so a failure is shrunk by CsCheck and reported with the seed that
/// reproduces it.
/// </summary>
internal static class SeededSample
{
    // Any stream number: fixed, so the inputs never change between runs.
    private const uint Stream = 13;

    public static void Run<T>(Gen<T> gen, Action<T> assert, int iterations, Func<T, string>? print = null)
    {
        for (int i = 1; i <= iterations; i++)
        {
            gen.Sample(assert, writeLine: null, seed: new PCG(Stream, (ulong)i).ToString(), iter: 1, threads: 1, print: print);
        }
    }
}
