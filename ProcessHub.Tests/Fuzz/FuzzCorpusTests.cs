using NUnit.Framework;
using ProcessHub.Fuzz;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Fuzz;

/// <summary>
/// Every committed fuzz input through the very target code afl-fuzz runs: the seeds must pass (afl-fuzz refuses a
/// corpus that crashes), and every finding is a regression test that fails until its bug is fixed.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class FuzzCorpusTests
{
    private static IEnumerable<TestCaseData> Inputs() =>
        FuzzInputFiles.All().Select(input => new TestCaseData(input.Target, input.RelativePath).SetName($"{{m}}({input.RelativePath})"));

    [TestCaseSource(nameof(Inputs))]
    public void Target_handles_the_committed_input(string target, string relativePath)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(RepositoryPaths.Root, relativePath));

        Assert.DoesNotThrow(() => FuzzTargets.Find(target)!.Run(input));
    }

    [Test]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (var target in FuzzTargets.All)
        {
            Assert.That(FuzzInputFiles.Corpus(target.Name), Has.Length.GreaterThanOrEqualTo(5), $"{target.Name}: {FuzzInputFiles.CorpusFolder(target.Name)}");
        }
    }
}
