using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A real redis-server (Debian's package; <c>./run.sh test</c> installs it) on a free loopback port, with its files in a
/// temporary directory: stopped and started again on the same port and directory it is a Redis restart, with its
/// append-only file when <see cref="AppendOnly"/> (nothing acknowledged lost) or with nothing (its data gone).
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    public const string Executable = "/usr/bin/redis-server";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "processhub-redis-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _copies = [];
    private Process? _process;

    private RedisServer(bool appendOnly, int port)
    {
        AppendOnly = appendOnly;
        Port = port;
        Directory.CreateDirectory(_directory);
    }

    public bool AppendOnly { get; }

    /// <summary>
    /// Configuration lines for the next <see cref="StartAgainAsync"/> (each option and its words as separate
    /// arguments), e.g. an ACL user that must exist from the first connection Redis accepts.
    /// </summary>
    public IReadOnlyList<string> ExtraArguments { get; set; } = [];
    public int Port { get; }
    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(bool appendOnly = true)
    {
        RequiredTools.Redis(Executable);
        var server = new RedisServer(appendOnly, LoopbackPort.Free());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A free port and a directory for a Redis that is not started yet (<see cref="StartAgainAsync"/> starts it).</summary>
    public static RedisServer Reserve(bool appendOnly = true)
    {
        RequiredTools.Redis(Executable);
        return new RedisServer(appendOnly, LoopbackPort.Free());
    }

    /// <summary>Starts redis-server (again) and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(Executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] arguments =
        [
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory,
            "--save", "", "--appendonly", AppendOnly ? "yes" : "no", "--appendfsync", "always", "--protected-mode", "no",
            .. ExtraArguments,
        ];
        foreach (string arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                await using var probe = await ConnectAsync();
                await probe.GetDatabase().PingAsync();
                return;
            }
            catch (Exception ex) when (!deadline.IsCancellationRequested
                && (ex is RedisConnectionException || (ex is RedisServerException && ex.Message.StartsWith("LOADING", StringComparison.Ordinal))))
            {
                // Not listening yet, or still reading its append-only file back (a large one takes a moment).
                await Task.Delay(50, deadline.Token); // polling for a port to open: no event to await
            }
        }
    }

    /// <summary>Stops it as a crash would (SIGKILL): with the append-only file, every acknowledged write is kept.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// A copy of its files as they are now, for <see cref="RestoreFiles"/>: stop it first, so that they are whole. With
    /// the copy back, Redis starts as it was then: the same epoch, without what came after (as a crash with
    /// <c>appendfsync everysec</c>, or a failover to a replica that lagged, would leave it).
    /// </summary>
    public string CopyFiles()
    {
        string copy = _directory + "-copy-" + _copies.Count;
        CopyDirectory(_directory, copy);
        _copies.Add(copy);
        return copy;
    }

    /// <summary>Puts a copy from <see cref="CopyFiles"/> in place of its files; stop it first.</summary>
    public void RestoreFiles(string copy)
    {
        Directory.Delete(_directory, recursive: true);
        CopyDirectory(copy, _directory);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (string directory in Directory.GetDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }

    /// <summary>An administrative connection of the test's own.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { IPAddress.Loopback, Port } }, AbortOnConnectFail = true, ConnectTimeout = 2000, AllowAdmin = true });

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        ScratchDirectory.Delete(_directory);
        foreach (string copy in _copies)
        {
            ScratchDirectory.Delete(copy);
        }
    }
}
