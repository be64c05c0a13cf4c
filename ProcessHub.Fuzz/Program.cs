using SharpFuzz;

namespace ProcessHub.Fuzz;

/// <summary>
/// The fuzzing harness, run by <c>./run.sh fuzz</c> under afl-fuzz:
/// <c>dotnet ProcessHub.Fuzz.dll TARGET</c> serves afl-fuzz (SharpFuzz's out-of-process fork server, so a hang or a
/// stack overflow costs one restarted child, not the session); <c>dotnet ProcessHub.Fuzz.dll TARGET --replay FILE...</c>
/// runs files through the target once each and says which fail, to triage findings without AFL.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var target = args.Length > 0 ? FuzzTargets.Find(args[0]) : null;
        if (target is null)
        {
            Console.Error.WriteLine($"usage: ProcessHub.Fuzz TARGET [--replay FILE...]; targets: {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}");
            return 2;
        }
        if (args.Length > 1 && args[1] == "--replay")
        {
            return Replay(target, args[2..]);
        }

        var input = new MemoryStream();
        Fuzzer.OutOfProcess.Run(stream =>
        {
            input.SetLength(0);
            stream.CopyTo(input);
            target.Run(input.GetBuffer().AsSpan(0, (int)input.Length));
        });
        return 0;
    }

    private static int Replay(IFuzzTarget target, string[] files)
    {
        int failed = 0;
        foreach (string file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
                Console.WriteLine($"ok    {file}");
            }
            catch (Exception ex)
            {
                failed++;
                Console.WriteLine($"FAIL  {file}\n{ex}");
            }
        }
        return failed == 0 ? 0 : 1;
    }
}
