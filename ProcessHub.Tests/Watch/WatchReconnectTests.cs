using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;
using ProcessHub.Tests.Browser;
using ProcessHub.Tests.Client;

namespace ProcessHub.Tests.Watch;

/// <summary>
/// The issue's observations, against the real <c>processhub watch</c> binary: it exited when the hub restarted
/// (1001) and said "no token" when the hub was down. Now it says what is wrong and reconnects.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class WatchReconnectTests
{
    [Test]
    public async Task Watch_reconnects_through_a_hub_restart_and_shows_the_new_hubs_processes()
    {
        await using var hub = new DashboardHost();
        hub.Start();
        string url = $"ws://{hub.EndPoint}/ws";
        using var watch = WatchProcess.Start("watch", "--json", "--url", url, "--token", hub.Token("alice"));
        string firstEpoch = Json(await watch.NextLineAsync(IsType("process_list"))).GetProperty("epoch").GetString()!;
        var before = hub.App.Producer.Start("benchmark", "alice", total: 3);
        await watch.NextLineAsync(IsType("process_started"));

        await hub.StopAsync();
        string closed = await watch.NextErrorLineAsync(line => line.Contains("closed the connection", StringComparison.Ordinal));
        Assert.That(closed, Does.Match(@"^processhub watch: the hub closed the connection \(1001 server shutting down\), retrying in \d+(\.\d)? s$"));
        string unreachable = await watch.NextErrorLineAsync(line => line.Contains("cannot reach", StringComparison.Ordinal));
        Assert.That(unreachable, Does.Match($@"^processhub watch: cannot reach {url} \(connection refused\), retrying in \d+(\.\d)? s$"));

        hub.Start();
        var after = hub.App.Producer.Start("evaluation", "alice", total: 2);
        var list = Json(await watch.NextLineAsync(IsType("process_list")));
        Assert.That(list.GetProperty("epoch").GetString(), Is.EqualTo(hub.App.Registry.Epoch).And.Not.EqualTo(firstEpoch));
        var listed = list.GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("process_id").GetString()).ToList();
        // watch retries on its own timer: it may have connected between the start and the process, which then comes
        // as process_started after an empty list rather than in it.
        Assert.That(listed, Is.EqualTo(new[] { after.ProcessId }).Or.Empty, $"the new hub's list, without {before.ProcessId}");
        if (listed.Count == 0)
        {
            await watch.NextLineAsync(line => IsType("process_started")(line) && line.Contains(after.ProcessId, StringComparison.Ordinal));
        }
        Assert.That(await watch.NextErrorLineAsync(line => line.Contains("reconnected", StringComparison.Ordinal)),
            Is.EqualTo($"processhub watch: reconnected to {url} (the hub had restarted)"));

        after.ReportProgress(1, 2, detail: "after the restart");
        var progress = Json(await watch.NextLineAsync(IsType("process_progress")));
        Assert.That(progress.GetProperty("progress").GetProperty("detail").GetString(), Is.EqualTo("after the restart"));

        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
    }

    [Test]
    public async Task A_token_in_the_url_is_never_printed()
    {
        // The dev banner prints the WebSocket URL with its token; pasted into --url, that token must not reach stderr.
        var endPoint = UnusedPort.Get();
        using var watch = WatchProcess.Start("watch", "--url", $"ws://{endPoint}/ws?token=not-for-any-log-line");

        string unreachable = await watch.NextErrorLineAsync(line => line.Contains("cannot reach", StringComparison.Ordinal));
        Assert.That(unreachable, Does.Not.Contain("not-for-any-log-line"));
        Assert.That(unreachable, Does.Contain($"cannot reach ws://{endPoint}/ws"));
        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
    }

    [Test]
    public async Task In_dev_mode_a_hub_that_is_down_is_reported_as_unreachable_and_watched_once_it_is_up()
    {
        var endPoint = UnusedPort.Get();
        string url = $"ws://{endPoint}/ws";
        using var watch = WatchProcess.Start("watch", "--url", url); // no --token: dev mode

        string unreachable = await watch.NextErrorLineAsync(_ => true);
        Assert.That(unreachable, Does.Match($@"^processhub watch: cannot reach {url} \(connection refused\), retrying in \d+(\.\d)? s$"));

        await using var app = HubWithSecret("watch-reconnect-tests-secret-0123456789abcdef", endPoint.Port);
        app.EnableDevToken(app.Tokens.Issue("dev", [], TimeSpan.FromMinutes(10)));
        app.Start();
        var run = app.Producer.Start("benchmark", "dev", total: 4);
        run.ReportProgress(2, 4, "GPT-4o", "Run 1/2");

        // Its first row may be from before the report (watch retries on its own timer): the row of the report is awaited.
        string row = await watch.NextLineAsync(line => line.StartsWith(run.ProcessId, StringComparison.Ordinal) && line.Contains("2/4", StringComparison.Ordinal));
        Assert.That(row, Does.Contain("benchmark running"));
        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
    }

    [Test]
    public async Task The_banners_url_keeps_working_across_a_restart_of_a_dev_hub()
    {
        // Pasted from the banner, the URL's token dies with the run: after the restart watch takes the new run's dev
        // token instead of giving up on "the hub rejected the token".
        var endPoint = UnusedPort.Get();
        HubApplication StartDevHub(string secret)
        {
            var hub = new HubApplication(
                new ServerOptions { Host = "127.0.0.1", Port = endPoint.Port, PingInterval = TimeSpan.Zero, DrainTimeout = TimeSpan.FromSeconds(1) },
                new HubOptions(),
                new JwtSettings { Secret = secret, ClockSkew = TimeSpan.Zero },
                NullLoggerFactory.Instance);
            hub.EnableDevToken(hub.Tokens.Issue("dev", [], TimeSpan.FromHours(24)));
            hub.Start();
            return hub;
        }
        var first = StartDevHub("watch-reconnect-tests-first-run-secret-0123456789");
        string bannerToken = first.Tokens.Issue("dev", [], TimeSpan.FromHours(24));
        using var watch = WatchProcess.Start("watch", "--json", "--url", $"ws://{endPoint}/ws?token={bannerToken}");
        Assert.That(JsonDocument.Parse(await watch.NextLineAsync(_ => true)).RootElement.GetProperty("type").GetString(), Is.EqualTo("process_list"));

        await first.DisposeAsync();
        await using var second = StartDevHub("watch-reconnect-tests-second-run-secret-012345");
        var run = second.Producer.Start("benchmark", "dev", total: 4);

        string seen = await watch.NextLineAsync(line => line.Contains(run.ProcessId, StringComparison.Ordinal));
        Assert.That(seen, Does.Contain("\"type\":\"process_"), "the new run's process, from a list or as it started");
        watch.Terminate();
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_rejected_token_says_that_a_dev_hubs_tokens_last_one_run_only_when_the_hub_is_in_dev_mode(bool devMode)
    {
        // The banner's token of an earlier run, given as --token: it was "the hub rejected the token", with nothing to
        // say that dev tokens die with the run and that watch fetches the current one by itself.
        await using var app = HubWithSecret("watch-reconnect-tests-this-run-secret-0123456789");
        if (devMode)
        {
            app.EnableDevToken(app.Tokens.Issue("dev", [], TimeSpan.FromMinutes(10)));
        }
        app.Start();
        string earlierRunsToken = new TokenValidator(new JwtSettings { Secret = "watch-reconnect-tests-earlier-run-secret-0123", ClockSkew = TimeSpan.Zero })
            .Issue("dev", [], TimeSpan.FromHours(24));
        using var watch = WatchProcess.Start("watch", "--json", "--url", $"ws://{app.LocalEndPoint}/ws", "--token", earlierRunsToken);

        string said = await watch.NextErrorLineAsync(_ => true);
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(1));
        Assert.That(said, Does.StartWith("processhub watch: the hub rejected the token (4401"));
        Assert.That(said, devMode
            ? Does.EndWith("; the hub is in dev mode, where a token lasts one run of the hub: without --token (and PROCESSHUB_TOKEN) watch fetches the current run's dev token")
            : Does.Not.Contain("dev mode"));
        Assert.That(said, Does.Not.Contain(earlierRunsToken).And.Not.Contain(earlierRunsToken.Split('.')[2]), "no part of the token is printed");
    }

    [Test]
    public async Task A_rejected_token_in_the_url_is_said_as_one_given_with_token_not_as_the_token_providers()
    {
        // Found by an audit: a bad ?token= ended with "the hub rejected the token (4401) and the token provider gave
        // the same one again": the hub's reason missing, and a provider nobody running watch set up (watch's own: the
        // URL's token, then the hub's dev tokens, which a hub with a secret does not hand out).
        await using var app = HubWithSecret("watch-reconnect-tests-this-run-secret-0123456789");
        app.Start();
        using var watch = WatchProcess.Start("watch", "--json", "--url", $"ws://{app.LocalEndPoint}/ws?token=not-a-jwt-and-not-for-any-line");

        string said = await watch.NextErrorLineAsync(line => line.Contains("rejected", StringComparison.Ordinal));
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(1));
        Assert.That(said, Is.EqualTo("processhub watch: the hub rejected the token (4401 invalid token)"));
    }

    [TestCase("--token")]
    [TestCase("?token=")]
    [TestCase("no token")]
    public async Task A_host_name_that_does_not_resolve_at_the_first_attempt_ends_watch_with_exit_1_naming_the_host(string tokenFrom)
    {
        // It was retried for ever, as a refused connection is, while a typo in the name never gets better. Without a
        // token the first request is the dev-token fetch, with one the WebSocket upgrade: both end the same way.
        const string Url = "ws://no-such-host.invalid:8501/ws";
        await AssumeTheResolverAnswersAsync("no-such-host.invalid");
        using var watch = tokenFrom switch
        {
            "--token" => WatchProcess.Start("watch", "--json", "--url", Url, "--token", "not-for-any-log-line"),
            "?token=" => WatchProcess.Start("watch", "--json", "--url", $"{Url}?token=not-for-any-log-line"),
            _ => WatchProcess.Start("watch", "--json", "--url", Url),
        };

        string said = await watch.NextErrorLineAsync(_ => true);
        Assert.That(said, Is.EqualTo($"processhub watch: no-such-host.invalid does not resolve (host not found): check --url ({Url})"));
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(1));
    }

    // .invalid never resolves (RFC 6761), but only a resolver can say so: a machine that cannot ask one (EAI_AGAIN)
    // gets "try again", which watch rightly retries, so there this test says nothing.
    private static async Task AssumeTheResolverAnswersAsync(string name)
    {
        try
        {
            await System.Net.Dns.GetHostAddressesAsync(name);
            Assert.Ignore($"{name} resolves here");
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.TryAgain)
        {
            Assert.Ignore($"no resolver answers on this machine ({ex.SocketErrorCode})");
        }
        catch (System.Net.Sockets.SocketException)
        {
            // host not found: what the test needs
        }
    }

    [Test]
    public async Task Without_a_token_a_hub_that_is_not_in_dev_mode_ends_watch_with_exit_2_and_says_why()
    {
        await using var app = HubWithSecret("watch-reconnect-tests-secret-0123456789abcdef");
        app.Start();
        using var watch = WatchProcess.Start("watch", "--url", $"ws://{app.LocalEndPoint}/ws");

        string said = await watch.NextErrorLineAsync(_ => true);
        Assert.That(said, Does.StartWith("processhub watch: no token: pass --token").And.Contain("not in dev mode"));
        Assert.That(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(2));
    }

    private static Func<string, bool> IsType(string type) => line => Json(line).GetProperty("type").GetString() == type;

    private static JsonElement Json(string line) => JsonDocument.Parse(line).RootElement;

    /// <summary>A hub in this process that takes tokens signed with <paramref name="secret"/> (not started: a test may turn dev tokens on first).</summary>
    private static HubApplication HubWithSecret(string secret, int port = 0) => new(
        new ServerOptions { Host = "127.0.0.1", Port = port, PingInterval = TimeSpan.Zero },
        new HubOptions(),
        new JwtSettings { Secret = secret, ClockSkew = TimeSpan.Zero },
        NullLoggerFactory.Instance);
}
