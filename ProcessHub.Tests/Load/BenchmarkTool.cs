using System.Diagnostics;
using NUnit.Framework;

namespace ProcessHub.Tests.Load;

/// <summary>
/// ProcessHub.Benchmarks run as its own process by the benchmarks' smoke tests: the build output beside this test's
/// (same configuration, built through the project reference), bounded in time, its output shown in the test's log.
/// </summary>
internal static class BenchmarkTool
{
    /// <summary>Runs the tool with <paramref name="arguments"/>; kills it and fails the test after <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path());
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"`{arguments[0]}` did not finish within {timeout.TotalMinutes:0} minutes:\n{await stderr}");
        }
        string output = await stdout + await stderr;
        TestContext.Progress.WriteLine(output);
        return (process.ExitCode, output);
    }

    private static string Path()
    {
        var testDirectory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        string path = System.IO.Path.Combine(Infrastructure.RepositoryPaths.Root, "ProcessHub.Benchmarks", "bin", testDirectory.Parent!.Name, testDirectory.Name, "ProcessHub.Benchmarks.dll");
        Assert.That(File.Exists(path), Is.True, $"{path} exists");
        return path;
    }
}
