using NUnit.Framework;
using ProcessHub.Tests.Load;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// The soak of issue 13 (ProcessHub.Benchmarks <c>soak</c>, <c>./run.sh soak --minutes N</c>) for 20 seconds: the real
/// binary under churn (connects and closes, resets, clients killed mid-frame, readers that stall, malformed input,
/// ping floods, SSE streams, producers, tabs that resume), with every invariant checked. Only the invariants are
/// asserted (the tool's exit code); the memory figures it prints are for people.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class SoakTests
{
    [Test]
    public async Task A_20_second_soak_keeps_every_invariant()
    {
        var (exitCode, output) = await BenchmarkTool.RunAsync(TimeSpan.FromMinutes(5), withoutHubSettings: true, "soak", "--seconds", "20", "--store", "sqlite");

        Assert.That(output, Does.Contain("soak: every invariant held"));
        Assert.That(exitCode, Is.Zero);
    }
}
