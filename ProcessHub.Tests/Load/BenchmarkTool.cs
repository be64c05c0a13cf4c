using System.Diagnostics;
using NUnit.Framework;

namespace ProcessHub.Tests.Load;

/// <summary>
/// ProcessHub.Benchmarks run as its own process by the benchmarks' smoke tests: the build output beside this test's
/// (same configuration, built through the project reference), bounded in time, its output shown in the test's log;
/// and the markdown file whose generated part between the markers a benchmark replaces.
/// </summary>
internal static class BenchmarkTool
{
    /// <summary>Runs the tool with <paramref name="arguments"/>; kills it and fails the test after <paramref name="timeout"/>.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, params string[] arguments) =>
        RunAsync(timeout, withoutHubSettings: false, arguments);

    /// <summary>
    /// Runs the tool with <paramref name="arguments"/>; with <paramref name="withoutHubSettings"/> the PROCESSHUB_*
    /// variables of this environment are not passed on (a hub the tool starts reads them as its settings). Kills it and
    /// fails the test after <paramref name="timeout"/>. The output is stdout, then stderr.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, bool withoutHubSettings, params string[] arguments)
    {
        using var process = Start(withoutHubSettings, arguments);
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
            string limit = timeout.TotalSeconds % 60 == 0 ? $"{timeout.TotalMinutes:0} minutes" : $"{timeout.TotalSeconds:0} s";
            Assert.Fail($"`{arguments[0]}` did not finish within {limit}:\n{await stderr}");
        }
        string output = await stdout + await stderr;
        TestContext.Progress.WriteLine(output);
        return (process.ExitCode, output);
    }

    /// <summary>Starts the tool with <paramref name="arguments"/>, its stdout and stderr redirected; the caller reads and ends it.</summary>
    public static Process Start(bool withoutHubSettings, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path());
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        if (withoutHubSettings)
        {
            foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("PROCESSHUB_", StringComparison.Ordinal)).ToList())
            {
                info.Environment.Remove(name);
            }
        }
        return Process.Start(info)!;
    }

    /// <summary>Writes a markdown file with hand-written text around <paramref name="begin"/> and <paramref name="end"/>, and "old" between them.</summary>
    public static Task WriteMarkdownAsync(string path, string begin, string end) =>
        File.WriteAllTextAsync(path, $"# Benchmarks\n\nbefore\n{begin}\nold\n{end}\nafter\n");

    /// <summary>The file <see cref="WriteMarkdownAsync"/> wrote, with new tables between the markers and the text around them kept; returns its text.</summary>
    public static async Task<string> AssertMarkdownReplacedAsync(string path, string end)
    {
        string written = await File.ReadAllTextAsync(path);
        Assert.That(written, Does.StartWith("# Benchmarks\n\nbefore\n"));
        Assert.That(written, Does.EndWith($"{end}\nafter\n"));
        Assert.That(written, Does.Not.Contain("\nold\n"));
        return written;
    }

    private static string Path()
    {
        var testDirectory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        string path = System.IO.Path.Combine(Infrastructure.RepositoryPaths.Root, "ProcessHub.Benchmarks", "bin", testDirectory.Parent!.Name, testDirectory.Name, "ProcessHub.Benchmarks.dll");
        Assert.That(File.Exists(path), Is.True, $"{path} exists");
        return path;
    }
}
