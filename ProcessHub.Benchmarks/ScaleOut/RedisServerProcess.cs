using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>
/// A redis-server started by the scale-out benchmark as docs/scale-out.md deploys it (<c>appendonly yes</c>,
/// <c>appendfsync always</c>, <c>save ""</c>), on a free loopback port with its files in a directory of its own,
/// optionally pinned with taskset. An administrative connection reads INFO, the latency monitor (which times every
/// <c>fsync</c> of the append-only file over 1 ms) and switches the fsync policy between points.
/// </summary>
internal sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private ConnectionMultiplexer? _admin;

    private RedisServerProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    /// <summary>What the hubs are given as <c>--redis</c>.</summary>
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public static async Task<RedisServerProcess> StartAsync(string executable, string directory, string? cpus)
    {
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"{executable} is missing: install Debian's redis-server (./run.sh test does)");
        }
        Directory.CreateDirectory(directory);
        int port = FreePort();
        var info = new ProcessStartInfo(cpus is null ? executable : "taskset")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        if (cpus is not null)
        {
            // taskset execs redis-server: the pid is Redis's.
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(cpus);
            info.ArgumentList.Add(executable);
        }
        foreach (string argument in new[]
        {
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory, "--protected-mode", "no",
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", Path.Combine(directory, "redis.log"),
            // Every fsync of the append-only file over 1 ms is recorded (LATENCY LATEST / HISTORY aof-fsync-always).
            "--latency-monitor-threshold", "1",
        })
        {
            info.ArgumentList.Add(argument);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new RedisServerProcess(process, directory, port);
        Load.ChildProcesses.Track(process, directory);
        try
        {
            long deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
            while (true)
            {
                try
                {
                    redis._admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
                    {
                        EndPoints = { { IPAddress.Loopback, port } },
                        AbortOnConnectFail = true,
                        ConnectTimeout = 2000,
                        AllowAdmin = true,
                        ClientName = "scaleout-benchmark",
                    }).ConfigureAwait(false);
                    await redis._admin.GetDatabase().PingAsync().ConfigureAwait(false);
                    return redis;
                }
                catch (RedisConnectionException) when (Stopwatch.GetTimestamp() < deadline && !process.HasExited)
                {
                    await Task.Delay(50).ConfigureAwait(false); // polling for a port to open: nothing to await
                }
            }
        }
        catch
        {
            await redis.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private IServer Server => _admin!.GetServer(IPAddress.Loopback, Port);

    /// <summary>Redis's CPU time so far (user + system, which includes its writes and fsyncs), in seconds.</summary>
    public double CpuSeconds => Load.ProcStats.CpuSeconds(Pid);

    /// <summary><c>CONFIG SET appendfsync always|everysec</c>: one Redis serves both points.</summary>
    public async Task SetFsyncAsync(string policy) =>
        await Server.ExecuteAsync("CONFIG", "SET", "appendfsync", policy).ConfigureAwait(false);

    /// <summary>The scripts' calls and their time inside Redis so far (INFO commandstats, EVAL and EVALSHA).</summary>
    public async Task<(double Calls, double Microseconds)> ScriptStatsAsync()
    {
        string info = await Server.InfoRawAsync("commandstats").ConfigureAwait(false) ?? "";
        double calls = 0, usec = 0;
        foreach (string line in info.Split('\n'))
        {
            if (!line.StartsWith("cmdstat_eval:", StringComparison.Ordinal) && !line.StartsWith("cmdstat_evalsha:", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (string field in line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim().Split(','))
            {
                var (name, value) = (field.Split('=')[0], field.Split('=')[1]);
                if (name == "calls")
                {
                    calls += double.Parse(value, CultureInfo.InvariantCulture);
                }
                else if (name == "usec")
                {
                    usec += double.Parse(value, CultureInfo.InvariantCulture);
                }
            }
        }
        return (calls, usec);
    }

    /// <summary>One field of INFO (any section), or NaN.</summary>
    public async Task<double> InfoValueAsync(string section, string field)
    {
        string info = await Server.InfoRawAsync(section).ConfigureAwait(false) ?? "";
        foreach (string line in info.Split('\n'))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal)
                && double.TryParse(line[(field.Length + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                return value;
            }
        }
        return double.NaN;
    }

    /// <summary>
    /// The latency monitor's view of the append-only file's fsyncs since the last reset: the longest (ms) and the
    /// number of seconds that had one over 1 ms (the monitor keeps the worst per second, up to 160 seconds). Resets it.
    /// </summary>
    public async Task<(double LongestMs, double SecondsOver1Ms)> TakeFsyncStallsAsync()
    {
        double longest = 0, seconds = 0;
        foreach (string eventName in new[] { "aof-fsync-always", "aof-write", "aof-write-alone", "aof-write-active-child", "aof-write-pending-fsync" })
        {
            var history = await Server.ExecuteAsync("LATENCY", "HISTORY", eventName).ConfigureAwait(false);
            if (history.IsNull || history.Resp2Type != ResultType.Array)
            {
                continue;
            }
            foreach (var sample in (RedisResult[])history!)
            {
                var pair = (RedisResult[])sample!;
                double ms = (double)pair[1];
                longest = Math.Max(longest, ms);
                if (eventName == "aof-fsync-always")
                {
                    seconds++;
                }
            }
        }
        await Server.ExecuteAsync("LATENCY", "RESET").ConfigureAwait(false);
        return (longest, seconds);
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
        }
        Load.ChildProcesses.Forget(_process);
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
