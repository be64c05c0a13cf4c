using System.Diagnostics;
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

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            LoadToolPath(), "load", "smoke", "--server", $"processhub=processhub:{host.EndPoint.Port}:{Environment.ProcessId}",
            "--secret", HubTestHost.Secret, "--connections", "3", "--events", "20",
        })
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the load tool did not finish within 90 s");
        }
        string output = await stdout;
        TestContext.Progress.WriteLine(output + await stderr);
        Assert.That(output, Does.Contain("smoke: delivered 60 of 60; publish errors 0"));
        Assert.That(process.ExitCode, Is.Zero);
    }

    /// <summary>The tool's build output beside this test's (same configuration), built through the project reference.</summary>
    private static string LoadToolPath()
    {
        var testDirectory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        string framework = testDirectory.Name;
        string configuration = testDirectory.Parent!.Name;
        var root = testDirectory;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ProcessHub.sln")))
        {
            root = root.Parent;
        }
        Assert.That(root, Is.Not.Null, "the repository root (ProcessHub.sln) above the test directory");
        string path = Path.Combine(root!.FullName, "ProcessHub.Benchmarks", "bin", configuration, framework, "ProcessHub.Benchmarks.dll");
        Assert.That(File.Exists(path), Is.True, $"{path} exists");
        return path;
    }
}
