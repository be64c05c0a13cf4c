using System.Text.Json;
using NUnit.Framework;

namespace ProcessHub.Tests.Watch;

/// <summary><c>processhub watch</c> against a real hub: the JSON stream for scripts, and the bar view with redirected output.</summary>
[TestFixture]
[Category("process")]
public sealed class WatchCommandTests
{
    private HubTestHost _host = null!;
    private string _url = null!;
    private string _token = null!;

    [SetUp]
    public void StartHub()
    {
        _host = HubTestHost.Start();
        _url = $"ws://{_host.EndPoint}/ws";
        _token = _host.Token("carol");
    }

    [TearDown]
    public async Task StopHub() => await _host.DisposeAsync();

    [Test]
    public async Task Json_mode_prints_every_message_as_one_line_and_ctrl_c_closes_with_1000()
    {
        using var watch = WatchProcess.Start("watch", "--json", "--url", _url, "--token", _token);

        var list = JsonDocument.Parse(await watch.NextLineAsync(_ => true)).RootElement;
        Assert.That(list.GetProperty("type").GetString(), Is.EqualTo("process_list"), "process_list comes first");

        var run = _host.App.Producer.Start("benchmark", "carol", total: 2);
        run.ReportProgress(1, 2, "GPT-4o", "Run 1/1, Context 1K");
        run.Complete(new { score = 1 });

        var received = new List<JsonElement>();
        for (int i = 0; i < 3; i++)
        {
            received.Add(JsonDocument.Parse(await watch.NextLineAsync(_ => true)).RootElement);
        }
        Assert.That(received.Select(m => m.GetProperty("type").GetString()), Is.EqualTo(new[] { "process_started", "process_progress", "process_completed" }));
        Assert.That(received.Select(m => m.GetProperty("seq").GetInt64()), Is.EqualTo(new[] { 1L, 2L, 3L }));
        Assert.That(received[1].GetProperty("progress").GetProperty("detail").GetString(), Is.EqualTo("Run 1/1, Context 1K"));

        var closed = _host.App.Counters.Closes.GetValueOrDefault(1000);
        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
        await Eventually.HoldsAsync(() => _host.App.Counters.Closes.GetValueOrDefault(1000) > closed, "the hub saw close 1000");
    }

    [Test]
    public async Task The_banners_url_with_its_token_is_enough_against_a_hub_with_a_secret()
    {
        // As pasted from a banner or a config: ws://host/ws?token=... and no --token. It fetched a dev token instead,
        // and a hub with a secret has none: exit 2, "no token".
        using var watch = WatchProcess.Start("watch", "--json", "--url", $"{_url}?token={_token}");

        var list = JsonDocument.Parse(await watch.NextLineAsync(_ => true)).RootElement;

        Assert.That(list.GetProperty("type").GetString(), Is.EqualTo("process_list"));
        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
    }

    [Test]
    public async Task Bar_mode_with_redirected_output_prints_a_line_per_change_without_error()
    {
        var run = _host.App.Producer.Start("evaluation", "carol", total: 4);
        using var watch = WatchProcess.Start("watch", "--url", _url, "--token", _token);

        string first = await watch.NextLineAsync(line => line.StartsWith(run.ProcessId, StringComparison.Ordinal));
        Assert.That(first, Does.Contain("evaluation running").And.Contain("0/4"));

        run.ReportProgress(2, 4, "Claude", "shard 2");
        string progress = await watch.NextLineAsync(line => line.Contains("2/4", StringComparison.Ordinal));
        Assert.That(progress, Does.Contain("[############............]  50%").And.Contain("Claude shard 2"));

        run.Fail("GPU lost", "oom");
        string failed = await watch.NextLineAsync(line => line.Contains("failed", StringComparison.Ordinal));
        Assert.That(failed, Does.Contain(run.ProcessId).And.Contain("GPU lost"));

        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
    }

    [Test]
    public async Task What_a_producer_writes_never_steers_the_terminal()
    {
        var run = _host.App.Producer.Start("evaluation", "carol", total: 4);
        using var watch = WatchProcess.Start("watch", "--url", _url, "--token", _token);
        await watch.NextLineAsync(line => line.StartsWith(run.ProcessId, StringComparison.Ordinal));

        // Any user's strings reach an admin's watch: an escape sequence (clear the screen) and a line break in a detail.
        run.ReportProgress(2, 4, "Claude\u001b]0;owned\u0007", "shard\u001b[2J 2\nnext line");
        string progress = await watch.NextLineAsync(line => line.Contains("2/4", StringComparison.Ordinal));
        Assert.That(progress, Does.Not.Contain("\u001b").And.Not.Contain("\u0007"), "no control character reaches the terminal");
        Assert.That(progress, Does.EndWith("Claude\ufffd]0;owned\ufffd shard\ufffd[2J 2 next line"), "one line per change, the rest of the text kept");

        run.Fail("GPU\u001b[31m lost", "oom");
        string failed = await watch.NextLineAsync(line => line.Contains("failed", StringComparison.Ordinal));
        Assert.That(failed, Does.Not.Contain("\u001b").And.Contain("GPU\ufffd[31m lost"));

        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
    }

    [Test]
    public async Task Ctrl_c_in_a_terminal_leaves_the_last_frame_whole_and_what_follows_on_the_next_line()
    {
        // The terminal echoes ^C where the cursor rests, at the end of the frame's last border: the final frame was
        // then drawn from a line too low (a stray top border above it, or a '^' left beside a border).
        var run = _host.App.Producer.Start("evaluation", "carol", total: 4);
        string dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "ProcessHub.dll");
        using var pane = await TmuxPane.StartAsync(
            $"dotnet {TmuxPane.Quoted(dll)} watch --url {TmuxPane.Quoted(_url)} --token {TmuxPane.Quoted(_token)}; echo \"watch exited $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e echo -e -echo; exec sleep 600",
            width: 100, height: 20);
        await pane.ScreenWhenAsync(screen => screen.Any(line => line.Contains(run.ProcessId, StringComparison.Ordinal)), "the frame with the process");

        await pane.SendKeysAsync("C-c");
        var screen = await pane.ScreenWhenAsync(lines => lines.Any(line => line.StartsWith("watch exited", StringComparison.Ordinal)), "watch's exit");

        string shown = string.Join("\n", screen);
        Assert.That(screen[0], Does.StartWith("╭"), $"the frame is where it was drawn:\n{shown}");
        Assert.That(screen.Count(line => line.StartsWith('╭')), Is.EqualTo(1), $"one frame, no stray border:\n{shown}");
        Assert.That(shown, Does.Not.Contain("^"), $"nothing of the echoed ^C is left:\n{shown}");
        int bottom = screen.ToList().FindIndex(line => line.StartsWith('╰'));
        Assert.That(screen[bottom], Does.EndWith("╯"), $"the last border is whole:\n{shown}");
        Assert.That(screen[bottom + 1], Is.EqualTo("watch exited 0"), $"what follows starts on the next line:\n{shown}");
        // watch turns the terminal's echo off while it draws: it is on again once watch has ended.
        Assert.That((await pane.ScreenWhenAsync(lines => lines.Count > bottom + 2 && lines[bottom + 2].Length > 0, "stty's answer"))[bottom + 2], Is.EqualTo("echo"));
    }

    [Test]
    public async Task A_blank_token_is_refused_as_a_usage_error()
    {
        // The client's watcher refuses a blank token in its constructor (it used to try it, and get 4401).
        using var watch = WatchProcess.Start("watch", "--json", "--url", _url, "--token", "  ");
        Assert.That(await watch.NextErrorLineAsync(line => line.Contains("--token is empty")), Does.Contain("--token is empty"));
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(2));
    }

    [TestCase("--url", "ws://127.0.0.1:9711/ws", "ws://127.0.0.1:9712/ws")]
    [TestCase("--token", "first-token-value", "second-token-value")]
    public async Task An_option_given_twice_is_a_usage_error_that_names_it_and_not_its_values(string option, string first, string second)
    {
        // It was System.CommandLine's "Option '--url' expects a single argument but 2 were provided", which reads as
        // one --url with two values.
        using var watch = WatchProcess.Start("watch", "--json", option, first, option, second);
        string said = await watch.NextErrorLineAsync(_ => true);
        Assert.That(said, Is.EqualTo($"processhub: {option} is given twice: give it once"));
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(2), "exit 2, as every other usage error");
    }

    [TestCase("http://127.0.0.1:9711/", "ws://127.0.0.1:9711/ws")]
    [TestCase("https://hub.example:8443", "wss://hub.example:8443/ws")]
    [TestCase("http://127.0.0.1:9711/ws?token=secret", "ws://127.0.0.1:9711/ws")]
    public async Task The_dashboards_http_address_is_refused_with_the_websocket_url_it_stands_for(string given, string meant)
    {
        using var watch = WatchProcess.Start("watch", "--json", "--url", given);
        string line = await watch.NextErrorLineAsync(l => l.Contains("--url", StringComparison.Ordinal));
        Assert.That(line, Does.EndWith($"--url must be a ws:// or wss:// URL (for that hub: {meant})"));
        Assert.That(line, Does.Not.Contain("secret"), "a token in the query is not repeated");
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(2));
    }

    [Test]
    public async Task A_rejected_token_ends_watch_with_a_non_zero_exit()
    {
        using var watch = WatchProcess.Start("watch", "--json", "--url", _url, "--token", "not-a-jwt");
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(1));
    }
}
