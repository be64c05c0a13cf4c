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
}
