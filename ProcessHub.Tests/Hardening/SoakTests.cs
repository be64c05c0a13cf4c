using System.Text.RegularExpressions;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
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

    [TestCase("--minutes", "abc", "--minutes takes a number from 0 to 10080, got 'abc'")]
    [TestCase("--seconds", "1e300", "--seconds takes a number from 0 to 604800, got '1e300'")]
    [TestCase("--seed", "x", "--seed takes a whole number, got 'x'")]
    public async Task A_bad_number_is_a_usage_error_not_a_stack_trace(string option, string value, string message)
    {
        // From an audit: `soak --minutes abc` ended with a FormatException's stack trace and exit code 134.
        var (exitCode, output) = await BenchmarkTool.RunAsync(TimeSpan.FromMinutes(2), withoutHubSettings: true, "soak", option, value);

        Assert.That(output, Does.Contain($"soak: {message}").And.Contain("usage: soak"));
        Assert.That(output, Does.Not.Contain("   at "));
        Assert.That(exitCode, Is.EqualTo(2));
    }

    [Test]
    public async Task A_soak_stopped_by_SIGTERM_stops_its_hub_and_removes_its_data_directory()
    {
        // From an audit: `kill` of the soak (a CI runner's timeout) left its hub running, with its port, its data
        // directory and a core: the tool's `await using` does not run when a signal ends it.
        using var tool = BenchmarkTool.Start(withoutHubSettings: true, "soak", "--seconds", "300", "--store", "sqlite");
        var stderr = tool.StandardError.ReadToEndAsync(); // drained from the start: a full pipe would block the tool
        try
        {
            Match started;
            do
            {
                string? line = await tool.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
                if (line is null)
                {
                    Assert.Fail("the soak ended before it started its hub: " + await stderr);
                }
                started = Regex.Match(line!, @"the hub is pid (\d+), on \S+, data in (\S+)$");
            }
            while (!started.Success);
            int hubPid = int.Parse(started.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            string dataDirectory = started.Groups[2].Value;
            Assert.That(Directory.Exists(dataDirectory), Is.True, dataDirectory);
            _ = tool.StandardOutput.ReadToEndAsync(); // drained, so that the tool never blocks on a full pipe

            PosixSignals.Send(tool.Id, PosixSignals.SigTerm);
            await tool.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

            Assert.That(await stderr.WaitAsync(TimeSpan.FromMinutes(1)), Does.Contain("stopped by SIGTERM: 1 server(s) the tool started were stopped with it"));
            await Eventually.HoldsAsync(() => !Directory.Exists($"/proc/{hubPid}"), "the soak's hub gone");
            Assert.That(Directory.Exists(dataDirectory), Is.False, dataDirectory);
        }
        finally
        {
            if (!tool.HasExited)
            {
                tool.Kill(entireProcessTree: true);
            }
        }
    }
}
