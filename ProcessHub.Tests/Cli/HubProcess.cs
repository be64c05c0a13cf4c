using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace ProcessHub.Tests.Cli;

/// <summary>
/// The real ProcessHub binary as a child process (<c>dotnet ProcessHub.dll ...</c>) with no inherited
/// <c>PROCESSHUB_*</c> variables; stdout lines are collected as they come and awaited with a deadline.
/// Disposing kills it if it is still running.
/// </summary>
internal sealed class HubProcess : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private HubProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>Everything written to stdout so far.</summary>
    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <param name="runVia">A program that runs the hub for it (e.g. <c>setpriv</c> with its arguments, to run as another user).</param>
    public static HubProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? runVia = null)
    {
        var start = new ProcessStartInfo(runVia is { Count: > 0 } ? runVia[0] : DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(HubDll())!,
        };
        if (runVia is { Count: > 0 })
        {
            foreach (var arg in runVia.Skip(1))
            {
                start.ArgumentList.Add(arg);
            }
            start.ArgumentList.Add(DotnetHost());
        }
        start.ArgumentList.Add(HubDll());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("PROCESSHUB_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        // The durable store is the default; a test that wants it says so (and gives its own --data-dir), the others
        // must not share state through a data directory beside the binary.
        start.Environment["PROCESSHUB_STORE"] = "memory";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var hub = new HubProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                hub._lines.Writer.TryComplete();
                return;
            }
            lock (hub._stdout)
            {
                hub._stdout.AppendLine(e.Data);
            }
            hub._lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (hub._stderr)
                {
                    hub._stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return hub;
    }

    /// <summary>The next stdout line that matches; fails if the process ends or the deadline passes first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(deadline.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    if (match(line))
                    {
                        return line;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"no line with {what} within {Timeout.TotalSeconds} s.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        throw new InvalidOperationException($"stdout ended without a line with {what}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>Waits for the exit (and the end of its output) and returns the exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"the hub did not exit within {Timeout.TotalSeconds} s.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the hub gets no chance to do anything (a crash, an OOM kill, a pulled plug without the power loss).</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        using var deadline = new CancellationTokenSource(Timeout);
        await _process.WaitForExitAsync(deadline.Token);
    }

    /// <summary>Sends SIGTERM, as a service manager would.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {Id} exited with {kill.ExitCode}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var deadline = new CancellationTokenSource(Timeout);
                await _process.WaitForExitAsync(deadline.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // It had not started, or has already gone.
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>ProcessHub.dll next to the test assembly (the project reference copies it), else the project's output.</summary>
    public static string HubDll()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "ProcessHub.dll");
        if (File.Exists(beside) && File.Exists(Path.Combine(AppContext.BaseDirectory, "ProcessHub.runtimeconfig.json")))
        {
            return beside;
        }
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ProcessHub.sln")))
        {
            dir = dir.Parent;
        }
        var built = dir is null ? null : Path.Combine(dir.FullName, "ProcessHub", "bin", configuration, "net10.0", "ProcessHub.dll");
        return built is not null && File.Exists(built)
            ? built
            : throw new FileNotFoundException($"ProcessHub.dll is neither in {AppContext.BaseDirectory} nor at {built}");
    }

    /// <summary>The dotnet host running these tests (the SDK sets DOTNET_HOST_PATH), else dotnet on the PATH.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }
        if (Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }
        return "dotnet";
    }
}
