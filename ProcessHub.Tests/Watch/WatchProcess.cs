using NUnit.Framework;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace ProcessHub.Tests.Watch;

/// <summary>
/// The real <c>processhub watch</c> binary as a child process, with its stdout read line by line into a channel so
/// a test can await each line with a timeout, and SIGTERM sent the way Ctrl+C or a service manager would.
/// </summary>
internal sealed partial class WatchProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Channel<string> _errors = Channel.CreateUnbounded<string>();

    private WatchProcess(Process process) => _process = process;

    public static WatchProcess Start(params string[] arguments)
    {
        string dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "ProcessHub.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var watch = new WatchProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                watch._lines.Writer.TryComplete();
            }
            else
            {
                watch._lines.Writer.TryWrite(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                watch._errors.Writer.TryComplete();
            }
            else
            {
                TestContext.Progress.WriteLine($"watch stderr: {e.Data}");
                watch._errors.Writer.TryWrite(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return watch;
    }

    /// <summary>The next line of stdout that satisfies <paramref name="match"/>.</summary>
    public Task<string> NextLineAsync(Func<string, bool> match, TimeSpan? timeout = null) => NextAsync(_lines, match, timeout);

    /// <summary>The next line of stderr (where watch reports its connection) that satisfies <paramref name="match"/>.</summary>
    public Task<string> NextErrorLineAsync(Func<string, bool> match, TimeSpan? timeout = null) => NextAsync(_errors, match, timeout);

    private static async Task<string> NextAsync(Channel<string> lines, Func<string, bool> match, TimeSpan? timeout)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            string line = await lines.Reader.ReadAsync(deadline.Token);
            if (match(line))
            {
                return line;
            }
        }
    }

    public void Terminate() => _ = Kill(_process.Id, 15);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
