using System.Diagnostics;
using NUnit.Framework;

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
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { ToolPath(), "soak", "--seconds", "20", "--store", "sqlite" })
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("PROCESSHUB_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the soak did not finish within 5 minutes");
        }
        string output = await stdout + await stderr;
        TestContext.Out.WriteLine(output);
        Assert.That(output, Does.Contain("soak: every invariant held"));
        Assert.That(process.ExitCode, Is.Zero);
    }

    /// <summary>The tool's build output beside this test's (same configuration), built through the project reference.</summary>
    private static string ToolPath()
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
