using System.Net;
using NUnit.Framework;
using Microsoft.Playwright;
using ProcessHub.Cli;
using ProcessHub.Tests.Browser;
using ProcessHub.Client;
using ProcessHub.Tests.Client;
using ProcessHub.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A tab that fails over to a hub which cannot reach Redis gets that hub's list as it last knew it, in the same
/// epoch (docs/protocol.md 11.4): a process that ended can be listed as running, with an older <c>seq</c>. What the
/// tab already showed must stand (decision 61). <c>watch</c> used to take the older entry and then drop the hub's
/// catch-up events as already seen, so the ended run stayed "running" until the next reconnect; the page showed it
/// running until the hub caught up. Real hubs on a real Redis, the real watcher and view, Chromium behind a proxy
/// that fails over; the behind hub is cut off with a Redis ACL user of its own, as in <see cref="ScaleOutRecoveryTests"/>.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class FailoverToALaggingHubTests
{
    [Test]
    public async Task Watch_keeps_a_run_it_saw_end_as_ended_when_it_fails_over_to_a_hub_that_is_behind()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var user2 = await RedisHubUser.CreateAsync(admin, "hub2");
        await using var hub1 = HubCluster.StartInProcess(redis);
        await using var hub2 = HubCluster.StartInProcess(redis, user2.ConfigurationOn(redis));
        var one = hub1.LocalEndPoint;
        var two = hub2.LocalEndPoint;
        string token = HubCluster.Token("alice");
        string id = await StartKnownToBothAsync(one, two, token);
        // A since past hub 2's seq below is a client that came from a hub ahead, not one ahead of the history: still
        // recovered (docs/protocol.md 5.2, decision 70).
        Assert.That(hub2.Registry.MayLagBehindClients, Is.True);

        var lines = new StringWriter();
        using var view = new WatchView(Spectre.Console.AnsiConsole.Console, interactive: false, lines: lines, notices: TextWriter.Null);
        await using var watched = new WatchedEvents(new HubWatcher(new HubWatcherOptions
        {
            Url = new Uri($"ws://{one}/ws"),
            FailoverUrls = [new Uri($"ws://{two}/ws")],
            Token = token,
            MinReconnectDelay = TimeSpan.FromMilliseconds(50),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
        }));
        await NextShownAsync<ProcessListed>(watched, view);
        Assert.That(LastLineOf(lines, id), Does.Contain(" running "));

        // Hub 2 hears nothing and cannot read the log while the process ends through hub 1.
        await user2.CutOffAsync();
        Assert.That((await RawHttpClient.PostAsync(one, $"/api/processes/{id}/complete", token, null)).Status, Is.EqualTo(200));
        var completed = await NextShownAsync<ProcessCompleted>(watched, view);
        Assert.That(LastLineOf(lines, id), Does.Contain(" completed "));

        await hub1.DisposeAsync();
        var behind = await NextShownAsync<ProcessListed>(watched, view);
        var entry = behind.Processes.Single(p => p.ProcessId == id);
        Assert.That((entry.Status, entry.Seq < completed.Seq), Is.EqualTo((ProcessHub.Client.ProcessState.Running, true)),
            "the premise: hub 2's list, in the same epoch, is behind what watch saw");
        Assert.That(LastLineOf(lines, id), Does.Contain(" completed "), "the run watch saw end is not shown running again");

        // Hub 2 catches up and sends what it missed; a process started after that comes behind it.
        await user2.LetBackAsync();
        await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(two, $"/api/processes/{id}", token)).Json.GetProperty("status").GetString(),
            status => status == "completed", "hub 2 catching up", TimeSpan.FromSeconds(20));
        string later = await HubCluster.StartProcessAsync(two, token);
        await NextShownAsync<ProcessStarted>(watched, view, started => started.ProcessId == later);
        Assert.That(LastLineOf(lines, id), Does.Contain(" completed "));
        Assert.That(watched.EventsOf(id).Select(e => e.Seq), Is.EqualTo(new[] { completed.Seq }), "the end once: hub 2 caught up with it, and watch had it already");
    }

    [Test]
    public async Task The_page_keeps_a_card_it_saw_end_as_ended_when_it_fails_over_to_a_hub_that_is_behind()
    {
        await using var setup = await TwoHubsAndAFront.StartAsync();
        var (user2, hub1, hub2, token, front) = (setup.User2, setup.Hub1, setup.Hub2, setup.Token, setup.Front);
        string id = await StartKnownToBothAsync(hub1.LocalEndPoint, hub2.LocalEndPoint, token);

        var (playwright, browser) = await BrowserFixture.LaunchAsync();
        try
        {
            var tab = await DashboardPage.OpenAsync(await browser.NewContextAsync(), front.BaseUrl);
            await Expect(tab.Locator($"#running li.card[data-process-id='{id}']")).ToHaveCountAsync(1);

            await user2.CutOffAsync();
            Assert.That((await RawHttpClient.PostAsync(hub1.LocalEndPoint, $"/api/processes/{id}/complete", token, null)).Status, Is.EqualTo(200));
            var ended = tab.Locator($"#ended li.card[data-process-id='{id}']");
            await Expect(ended.Locator(".badge")).ToHaveTextAsync("completed");

            // The front fails over to hub 2, whose list (same epoch) still has the process running at seq 1.
            await FailOverAsync(tab, front, hub1, hub2);
            Assert.That(await tab.EvaluateAsync<int>("() => document.querySelectorAll('#running li.card').length"), Is.Zero,
                "the run the tab saw end is not shown running again");
            await Expect(ended.Locator(".badge")).ToHaveTextAsync("completed");

            // Hub 2 catches up; a process started after that comes behind what it sends of the first.
            await user2.LetBackAsync();
            await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(hub2.LocalEndPoint, $"/api/processes/{id}", token)).Json.GetProperty("status").GetString(),
                status => status == "completed", "hub 2 catching up", TimeSpan.FromSeconds(20));
            string later = await HubCluster.StartProcessAsync(hub2.LocalEndPoint, token);
            await Expect(tab.Locator($"#running li.card[data-process-id='{later}']")).ToHaveCountAsync(1);
            await Expect(ended.Locator(".badge")).ToHaveTextAsync("completed");
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }

    [Test]
    public async Task The_page_keeps_a_running_card_a_behind_hubs_list_lacks_and_follows_it_once_that_hub_catches_up()
    {
        // A process started through hub 1 while hub 2 could not follow: hub 2's list (same epoch) does not have it at
        // all. The page used to drop its card ("ended and has left the list") until hub 2's catch-up brought it back.
        await using var setup = await TwoHubsAndAFront.StartAsync();
        var (user2, hub1, hub2, token, front) = (setup.User2, setup.Hub1, setup.Hub2, setup.Token, setup.Front);

        var (playwright, browser) = await BrowserFixture.LaunchAsync();
        try
        {
            var tab = await DashboardPage.OpenAsync(await browser.NewContextAsync(), front.BaseUrl);
            await user2.CutOffAsync();
            var created = await RawHttpClient.PostAsync(hub1.LocalEndPoint, "/api/processes", token, """{"process_type":"eval","total":4}""");
            Assert.That(created.Status, Is.EqualTo(201), created.ToString());
            string id = created.Json.GetProperty("process_id").GetString()!;
            await ReportAsync(hub1.LocalEndPoint, token, id, 2);
            var card = tab.Locator($"#running li.card[data-process-id='{id}']");
            await Expect(card.Locator(".counts")).ToHaveTextAsync("2 / 4 · 50%");

            await FailOverAsync(tab, front, hub1, hub2);
            Assert.That(await tab.EvaluateAsync<int>($"() => document.querySelectorAll(\"#running li.card[data-process-id='{id}']\").length"), Is.EqualTo(1),
                "the running card hub 2's list lacks is kept");
            await Expect(card.Locator(".counts")).ToHaveTextAsync("2 / 4 · 50%");

            // Hub 2 catches up (its catch-up events are ones the card has) and the run goes on through it.
            await user2.LetBackAsync();
            await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(hub2.LocalEndPoint, $"/api/processes/{id}", token)).Status,
                status => status == 200, "hub 2 catching up", TimeSpan.FromSeconds(20));
            await ReportAsync(hub2.LocalEndPoint, token, id, 3);
            await Expect(card.Locator(".counts")).ToHaveTextAsync("3 / 4 · 75%");
            Assert.That(await tab.EvaluateAsync<int>("() => document.querySelectorAll('li.card').length"), Is.EqualTo(1), "one card, not a second one from the catch-up");
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }

    /// <summary>
    /// Hub 1 goes and the front sends the page to hub 2. The front turns the page away until it has been seen
    /// reconnecting: pointed at hub 2 at once, the page's first retry (a quarter to half a second) could be back open
    /// before the test looked, and the wait for "reconnecting" would never end.
    /// </summary>
    private static async Task FailOverAsync(IPage tab, CuttableProxy front, ProcessHub.Server.HubApplication hub1, ProcessHub.Server.HubApplication hub2)
    {
        front.Refuse = true;
        await hub1.DisposeAsync();
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "reconnecting");
        front.Target = hub2.LocalEndPoint;
        front.Refuse = false;
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
    }

    private static async Task ReportAsync(IPEndPoint hub, string token, string id, int current)
    {
        var report = await RawHttpClient.PostAsync(hub, $"/api/processes/{id}/progress", token, $$"""{"current":{{current}},"total":4}""");
        Assert.That(report.Status, Is.EqualTo(200), report.ToString());
    }

    /// <summary>
    /// A real Redis, two hubs in this process on it (hub 2 signed in as a Redis user of its own, so that the test can cut
    /// it off), both handing the page one dev token, and the page's front, which reaches hub 1 until told otherwise.
    /// </summary>
    private sealed class TwoHubsAndAFront : IAsyncDisposable
    {
        private TwoHubsAndAFront(RedisServer redis, StackExchange.Redis.ConnectionMultiplexer admin, RedisHubUser user2, ProcessHub.Server.HubApplication hub1, ProcessHub.Server.HubApplication hub2, string token, CuttableProxy front) =>
            (_redis, _admin, User2, Hub1, Hub2, Token, Front) = (redis, admin, user2, hub1, hub2, token, front);

        private readonly RedisServer _redis;
        private readonly StackExchange.Redis.ConnectionMultiplexer _admin;

        public RedisHubUser User2 { get; }
        public ProcessHub.Server.HubApplication Hub1 { get; }
        public ProcessHub.Server.HubApplication Hub2 { get; }
        public string Token { get; }
        public CuttableProxy Front { get; }

        public static async Task<TwoHubsAndAFront> StartAsync()
        {
            var redis = await RedisServer.StartAsync();
            var admin = await redis.ConnectAsync();
            var user2 = await RedisHubUser.CreateAsync(admin, "hub2");
            var hub1 = HubCluster.StartInProcess(redis);
            var hub2 = HubCluster.StartInProcess(redis, user2.ConfigurationOn(redis));
            string token = HubCluster.Token("dev");
            hub1.EnableDevToken(token);
            hub2.EnableDevToken(token);
            return new TwoHubsAndAFront(redis, admin, user2, hub1, hub2, token, CuttableProxy.Start(hub1.LocalEndPoint));
        }

        public async ValueTask DisposeAsync()
        {
            await Front.DisposeAsync();
            await Hub2.DisposeAsync();
            await Hub1.DisposeAsync(); // a test may have stopped it already: a second dispose does nothing
            await _admin.DisposeAsync();
            await _redis.DisposeAsync();
        }
    }

    /// <summary>Pulls events into the view as <c>processhub watch</c> does (connection notices are not rows) until one of <typeparamref name="T"/>.</summary>
    private static async Task<T> NextShownAsync<T>(WatchedEvents watched, WatchView view, Func<T, bool>? match = null) where T : HubEvent
    {
        while (true)
        {
            var next = await watched.NextAsync();
            if (next is not (HubConnected or HubDisconnected))
            {
                view.Apply(next);
            }
            if (next is T found && (match is null || match(found)))
            {
                return found;
            }
        }
    }

    private static string LastLineOf(StringWriter lines, string processId) =>
        lines.ToString().Split('\n').Last(line => line.StartsWith(processId, StringComparison.Ordinal));

    private static async Task<string> StartKnownToBothAsync(IPEndPoint one, IPEndPoint two, string token)
    {
        string id = await HubCluster.StartProcessAsync(one, token);
        await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(two, $"/api/processes/{id}", token)).Status,
            status => status == 200, "hub 2 knowing the process");
        return id;
    }
}
