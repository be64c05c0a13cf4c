using System.Diagnostics;
using NUnit.Framework;

namespace ProcessHub.Tests.Watch;

/// <summary>
/// A command in a pane of a private tmux server: a real pseudo-terminal, with its line discipline (the echo of a
/// typed ^C, the SIGINT it sends) and a screen to read back, which a redirected child process does not have.
/// </summary>
internal sealed class TmuxPane : IDisposable
{
    // A server of the test's own, on a socket it deletes: never the user's tmux, and nothing left in /tmp.
    private readonly string _socket = Path.Combine(Path.GetTempPath(), $"processhub-tmux-{Guid.NewGuid():N}");

    private TmuxPane()
    {
    }

    /// <summary>Runs <paramref name="command"/> (a shell command line) in a <paramref name="width"/> x <paramref name="height"/> pane.</summary>
    public static async Task<TmuxPane> StartAsync(string command, int width, int height)
    {
        bool installed = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, "tmux")));
        if (!installed)
        {
            Assert.Ignore("tmux is not installed: this test needs a real terminal");
        }
        var pane = new TmuxPane();
        // -f /dev/null: no user configuration between the test and the screen.
        await pane.TmuxAsync("-f", "/dev/null", "new-session", "-d", "-x", $"{width}", "-y", $"{height}", command);
        return pane;
    }

    /// <summary>A word for the pane's shell command line, whatever it holds.</summary>
    public static string Quoted(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Keys as tmux names them (<c>C-c</c>), typed into the pane's terminal.</summary>
    public Task SendKeysAsync(string keys) => TmuxAsync("send-keys", keys);

    /// <summary>The screen as it is now, one string per line, trailing blanks removed.</summary>
    public async Task<IReadOnlyList<string>> ScreenAsync()
    {
        string text = await TmuxAsync("capture-pane", "-p");
        return text.Replace("\r", "", StringComparison.Ordinal).TrimEnd('\n').Split('\n').Select(line => line.TrimEnd()).ToList();
    }

    /// <summary>The screen once <paramref name="holds"/> is true of it; what it showed last when it never is.</summary>
    public async Task<IReadOnlyList<string>> ScreenWhenAsync(Func<IReadOnlyList<string>, bool> holds, string what)
    {
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var screen = await ScreenAsync();
            if (holds(screen))
            {
                return screen;
            }
            if (limit.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"{what} did not show within 30 s; the screen:\n{string.Join('\n', screen)}");
            }
            // Each look starts a tmux client: a few a second, not the 5 ms of Eventually.
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        using var kill = Process.Start(new ProcessStartInfo("tmux", ["-S", _socket, "kill-server"]) { RedirectStandardError = true, RedirectStandardOutput = true });
        kill?.WaitForExit(10_000);
        File.Delete(_socket);
    }

    private async Task<string> TmuxAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-S");
        info.ArgumentList.Add(_socket);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var tmux = Process.Start(info)!;
        var output = tmux.StandardOutput.ReadToEndAsync();
        var error = tmux.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tmux.WaitForExitAsync(deadline.Token);
        if (tmux.ExitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', arguments)}: {await error}");
        }
        return await output;
    }
}
