using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// The real ProcessHub binary as a child process (<c>dotnet ProcessHub.dll --port 0 ...</c>) with a known secret: its
/// port is read from its first line, its output is drained all along (a log line per connection open and close), and
/// lines at level <c>fail</c> or <c>crit</c> are kept: the hub logs at those levels only for bugs and broken stores.
/// </summary>
internal sealed partial class SoakHub : IAsyncDisposable
{
    public const string Secret = "soak-secret: a shared secret of well over thirty-two bytes";

    private readonly Process _process;
    private readonly List<string> _failures = [];
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _dataDirectory;
    private long _lines;

    private SoakHub(Process process, string? dataDirectory)
    {
        _process = process;
        _dataDirectory = dataDirectory;
    }

    public int Pid => _process.Id;

    /// <summary>The temporary directory of the sqlite store, removed when the hub is disposed; null for the memory store.</summary>
    public string? DataDirectory => _dataDirectory;

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    public Uri BaseUri => new($"http://{EndPoint}");

    public Uri WebSocketUri => new($"ws://{EndPoint}/ws");

    /// <summary>Lines the hub logged at level fail or crit (bugs, a failing store).</summary>
    public IReadOnlyList<string> FailureLines
    {
        get
        {
            lock (_failures)
            {
                return [.. _failures];
            }
        }
    }

    public long LinesLogged => Interlocked.Read(ref _lines);

    public bool HasExited => _process.HasExited;

    /// <summary>An admin token (for the reclaim endpoint).</summary>
    public static string AdminToken { get; } = Load.Tokens.Issue(Secret, "soak-admin", "admin");

    public static string TokenFor(string user) => Load.Tokens.Issue(Secret, user, role: null);

    public static async Task<SoakHub> StartAsync(string hubDll, string store, IEnumerable<string> extraArguments)
    {
        string? dataDirectory = store == "sqlite" ? Directory.CreateTempSubdirectory("processhub-soak-").FullName : null;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[hubDll, "--host", "127.0.0.1", "--port", "0", "--jwt-secret", Secret, "--store", store])
        {
            start.ArgumentList.Add(argument);
        }
        if (dataDirectory is not null)
        {
            start.ArgumentList.Add("--data-dir");
            start.ArgumentList.Add(dataDirectory);
        }
        foreach (var argument in extraArguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("PROCESSHUB_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        var hub = new SoakHub(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"), dataDirectory);
        Load.ChildProcesses.Track(hub._process, dataDirectory);
        hub.DrainInBackground(hub._process.StandardOutput);
        hub.DrainInBackground(hub._process.StandardError);
        var port = await hub._port.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        hub.EndPoint = new IPEndPoint(IPAddress.Loopback, port);
        return hub;
    }

    /// <summary>SIGTERM, then the exit code (docs/protocol.md section 5.8: 0 after a graceful drain).</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
        }
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            return -1;
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Load.ChildProcesses.Forget(_process);
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
        if (_dataDirectory is not null)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the OS's temp cleanup.
            }
        }
    }

    private void DrainInBackground(StreamReader reader) => _ = Task.Run(async () =>
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            Interlocked.Increment(ref _lines);
            if (!_port.Task.IsCompleted && ListeningLine().Match(line) is { Success: true } match)
            {
                _port.TrySetResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
            if (line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains(" crit: ", StringComparison.Ordinal)
                || line.StartsWith("fail: ", StringComparison.Ordinal) || line.StartsWith("crit: ", StringComparison.Ordinal))
            {
                lock (_failures)
                {
                    if (_failures.Count < 100)
                    {
                        _failures.Add(line);
                    }
                }
            }
        }
        _port.TrySetException(new InvalidOperationException("the hub exited before it printed its address"));
    });

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"listening on http://[^:]+:(\d+)")]
    private static partial Regex ListeningLine();
}
