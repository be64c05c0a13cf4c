using NUnit.Framework;

namespace ProcessHub.Tests.Load;

/// <summary>
/// The fan-out load tool (ProcessHub.Benchmarks `load smoke`) in a tiny configuration against a real hub, so the
/// benchmark cannot silently break: its own upgrade, frame reader, token minting and producer-API publisher must
/// see every event at every connection. Nothing about timing is asserted.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class LoadToolSmokeTests
{
    [Test]
    public async Task Load_tool_reports_every_delivery_of_20_events_to_3_connections()
    {
        await using var host = HubTestHost.Start();

        var (exitCode, output) = await BenchmarkTool.RunAsync(
            TimeSpan.FromSeconds(90),
            "load", "smoke", "--server", $"processhub=processhub:{host.EndPoint.Port}:{Environment.ProcessId}",
            "--secret", HubTestHost.Secret, "--connections", "3", "--events", "20");

        Assert.That(output, Does.Contain("smoke: delivered 60 of 60; publish errors 0"));
        Assert.That(exitCode, Is.Zero);
    }

    [Test]
    public async Task Load_run_measures_the_fixed_rate_and_a_connection_storm_of_one_user_and_of_several_against_a_real_hub()
    {
        await using var host = HubTestHost.Start();

        var (exitCode, output) = await BenchmarkTool.RunAsync(
            TimeSpan.FromMinutes(3),
            "load", "run", "--server", $"processhub=processhub:{host.EndPoint.Port}:{Environment.ProcessId}",
            "--secret", HubTestHost.Secret, "--scenarios", "rate,storm", "--warmup-seconds", "0",
            "--rate-events", "20", "--rate-connections", "3", "--rate-seconds", "1", "--rate-runs", "1",
            "--storm-n", "20", "--storm-users", "3", "--storm-runs", "1", "--storm-parallel", "5", "--storm-sources", "2");

        Assert.That(exitCode, Is.Zero);
        // The paced run: every event reached every subscriber, and the CPU window was measured.
        Assert.That(output, Does.Contain("### e. Latency and CPU at a fixed rate: 20 events/s to 3 subscribers"));
        Assert.That(output, Does.Contain("delivered_fraction=1 complete=1"));
        Assert.That(output, Does.Contain("| deliveries per server CPU-second |"));
        // Both storms: every client had its first message (process_list), none failed; the clients were spread over
        // two loopback source addresses (as a storm beyond one address's ephemeral ports is).
        Assert.That(output, Does.Contain("storm N=20 same user run 1: processhub"));
        Assert.That(output, Does.Contain("storm N=20 3 users run 1: processhub"));
        Assert.That(output.Split('\n').Count(line => line.Contains("succeeded=20 failed_connections=0", StringComparison.Ordinal)), Is.EqualTo(2));
        Assert.That(output, Does.Contain("source_addresses=2"));
        Assert.That(output, Does.Contain("| 20, 3 users: connections/s |"));
    }
}
