using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// The real ProcessHub binary as a child process, started by the durable benchmark with the store it is told
/// (<c>--store memory</c>, or <c>--store sqlite --data-dir DIR</c>) and the limits of the fan-out comparison, optionally
/// pinned to a core with taskset. Its output goes to a log file; the time from starting the process to its
/// "listening" line is kept (the restart scenario's measure).
/// </summary>
internal sealed partial class HubBinary : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The first lines the hub printed, for the error when it exits before listening (its log file is often in a
    // temporary directory that is gone by the time anyone reads a CI log).
    private readonly List<string> _firstLines = [];
    private const int FirstLinesKept = 20;
    private int _disposed;

    private HubBinary(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public int Port { get; private set; }

    /// <summary>From Process.Start to the line "ProcessHub listening on ..." read from its output.</summary>
    public TimeSpan TimeToListening { get; private set; }

    public TargetServer Target => new(Name, ServerKind.ProcessHub, Port, Pid);

    /// <summary>Starts the hub and waits for its listening line.</summary>
    /// <param name="store">memory or sqlite.</param>
    /// <param name="dataDirectory">The sqlite store's directory (ignored by the memory store).</param>
    /// <param name="cpus">A taskset CPU list such as "0", or null to leave the hub unpinned.</param>
    public static async Task<HubBinary> StartAsync(string name, string hubDll, string store, string? dataDirectory, string secret, string? cpus, string logPath, IEnumerable<string>? extraArguments = null)
    {
        var info = new ProcessStartInfo(cpus is null ? "dotnet" : "taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (cpus is not null)
        {
            // taskset execs the hub: the pid is the hub's.
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(cpus);
            info.ArgumentList.Add("dotnet");
        }
        info.ArgumentList.Add(hubDll);
        // The fan-out comparison's limits (ProcessHub.Benchmarks/run-fanout.sh), so the numbers compare with its.
        foreach (string argument in new[]
        {
            "--host", "127.0.0.1", "--port", "0", "--ping-interval", "0", "--jwt-secret", secret, "--no-dev",
            "--max-connections", "60000", "--max-connections-per-user", "100000", "--rate-limit", "100000",
            "--api-rate-limit", "1000000", "--outbound-limit-bytes", "268435456", "--stall-limit", "600", "--store", store,
        })
        {
            info.ArgumentList.Add(argument);
        }
        if (store == "sqlite")
        {
            info.ArgumentList.Add("--data-dir");
            info.ArgumentList.Add(dataDirectory ?? throw new ArgumentException("the sqlite store needs a data directory"));
        }
        foreach (string argument in extraArguments ?? [])
        {
            info.ArgumentList.Add(argument);
        }
        foreach (string variable in info.Environment.Keys.Where(k => k.StartsWith("PROCESSHUB_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(variable);
        }
        // As in run-fanout.sh: one core's worth of runtime, workstation concurrent GC, stated so it cannot drift.
        if (cpus is not null)
        {
            info.Environment["DOTNET_PROCESSOR_COUNT"] = cpus.Split(',').Length.ToString(CultureInfo.InvariantCulture);
        }
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_gcConcurrent"] = "1";
        info.Environment["DOTNET_TieredPGO"] = "1";

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = false };
        long started = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        var hub = new HubBinary(name, process, log);
        ChildProcesses.Track(process);
        process.OutputDataReceived += (_, e) => hub.OnLine(e.Data, started);
        process.ErrorDataReceived += (_, e) => hub.OnLine(e.Data, started);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(hub._listening.Task, exited, Task.Delay(StartTimeout)).ConfigureAwait(false);
            if (first != hub._listening.Task)
            {
                if (process.HasExited)
                {
                    // Its output may still be on the way: the exit can be seen before the last lines are read.
                    await process.WaitForExitAsync().ConfigureAwait(false);
                }
                throw new InvalidOperationException((process.HasExited
                    ? $"the hub ({name}) exited with code {process.ExitCode} before listening; see {logPath}"
                    : $"the hub ({name}) did not print its listening line within {StartTimeout.TotalSeconds:0} s; see {logPath}")
                    + "; it printed:" + Environment.NewLine + hub.FirstLines());
            }
            hub.Port = await hub._listening.Task.ConfigureAwait(false);
            return hub;
        }
        catch
        {
            await hub.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void OnLine(string? line, long started)
    {
        if (line is null)
        {
            return;
        }
        if (!_listening.Task.IsCompleted && ListeningLine().Match(line) is { Success: true } match)
        {
            TimeToListening = Stopwatch.GetElapsedTime(started);
            _listening.TrySetResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        lock (_log)
        {
            _log.WriteLine(line);
            if (_firstLines.Count < FirstLinesKept)
            {
                _firstLines.Add(line);
            }
        }
    }

    private string FirstLines()
    {
        lock (_log)
        {
            return string.Join(Environment.NewLine, _firstLines.Select(line => "  " + line));
        }
    }

    /// <summary>SIGKILL, as a crash would (the scale-out benchmark's failover): no graceful stop, sockets reset by the kernel.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>SIGTERM, then waits for a graceful exit (the sqlite store folds its log in); kills it after the timeout.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }
        _ = Signals.Terminate(_process.Id);
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await StopAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        _process.WaitForExit(); // drains the redirected output
        ChildProcesses.Forget(_process);
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    [GeneratedRegex(@"^ProcessHub listening on http://[^ ]+:(\d+) ")]
    private static partial Regex ListeningLine();
}
