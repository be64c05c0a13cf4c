using NUnit.Framework;
using ProcessHub.Fuzz;

namespace ProcessHub.Tests.Fuzz;

/// <summary>
/// A few thousand seeded random inputs per fuzz target, on every test run: raw bytes, and mutations of the seed
/// corpus. Not a substitute for afl-fuzz (no coverage feedback), but it keeps the harness and its invariants running
/// where AFL is not installed, so they cannot rot.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class FuzzRandomInputTests
{
    private static IEnumerable<TestCaseData> Targets() =>
        FuzzTargets.All.Select(target => new TestCaseData(target.Name, Iterations(target.Name)).SetName($"{{m}}({target.Name})"));

    [TestCaseSource(nameof(Targets))]
    public void Target_survives_seeded_random_bytes(string target, int iterations) =>
        SeededSample.Run(FuzzInputGen.RawBytes(600), RunOn(target), iterations, Convert.ToHexString);

    [TestCaseSource(nameof(Targets))]
    public void Target_survives_seeded_mutations_of_its_corpus(string target, int iterations) =>
        SeededSample.Run(FuzzInputGen.Mutated(FuzzInputFiles.Corpus(target)), RunOn(target), iterations, Convert.ToHexString);

    private static Action<byte[]> RunOn(string target)
    {
        var fuzzTarget = FuzzTargets.Find(target)!;
        return input => fuzzTarget.Run(input);
    }

    // Token validation runs the identity library twice per input: fewer of them keep the test at about a second.
    private static int Iterations(string target) => target == "token" ? 500 : 3000;
}
