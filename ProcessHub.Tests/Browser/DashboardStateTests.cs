using System.Text.RegularExpressions;
using Microsoft.Playwright;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// What the page says when things are not simply live: disconnected (stale cards, no Cancel, clocks stopped), after
/// a hub restart (a notice of what was lost), after a reload (every outcome as a live tab showed it), signed out,
/// two users side by side in dev mode, and on a phone.
/// </summary>
[TestFixture]
[Category("browser")]
[NonParallelizable]
public sealed class DashboardStateTests : BrowserAndHubTests
{
    private static readonly string[] Models = ["GPT-4o", "Claude 3.5 Sonnet"];
    private static readonly string[] Contexts = ["1K", "5K"];

    [Test]
    public async Task Disconnected_cards_go_stale_with_Cancel_off_and_clocks_stopped_and_a_restart_is_explained()
    {
        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        await context.Clock.InstallAsync(); // the page's time flows, and the test can jump it ahead
        var run = StartBenchmark("dev", total: 12);
        run.ReportProgress(5, 12, "GPT-4o", "Run 2/3, Context 5K");
        Host.App.Producer.Start("export", "dev", total: 4);
        var tab = await OpenAsync(context);
        var card = tab.Locator($"li.card[data-process-id='{run.ProcessId}']");
        await Expect(card.Locator(".counts")).ToHaveTextAsync("5 / 12 · 42%");
        await Expect(card.Locator(".cancel")).ToBeEnabledAsync();
        await Expect(card).ToHaveAttributeAsync("data-stale", "false");
        await Expect(tab.Locator("#offline")).ToBeHiddenAsync();

        // Live, a jump of a minute shows on the clock: the jump drives the page's ticker.
        string liveClock = (await card.Locator(".clock").TextContentAsync())!;
        await tab.Clock.FastForwardAsync("01:00");
        await Expect(card.Locator(".clock")).Not.ToHaveTextAsync(liveClock);

        await Host.StopAsync();
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "reconnecting");
        await Expect(tab.Locator("#offline")).ToBeVisibleAsync();
        await Expect(tab.Locator("#offline-what")).ToHaveTextAsync("Connection lost");
        await Expect(tab.Locator("#offline-cards")).ToBeVisibleAsync();
        await Expect(tab.Locator("#offline-text")).ToHaveTextAsync(new Regex(@"^Reconnecting"));
        await Expect(card).ToHaveAttributeAsync("data-stale", "true");
        await Expect(card.Locator(".stale-tag")).ToBeVisibleAsync();
        await Expect(card.Locator(".cancel")).ToBeDisabledAsync();
        await Expect(tab.Locator("#start-button")).ToBeDisabledAsync();
        await Expect(tab.Locator("#start-message")).ToHaveTextAsync("Waiting for the hub to come back before anything can start.");
        string frozenClock = (await card.Locator(".clock").TextContentAsync())!;
        string frozenEta = (await card.Locator(".eta").TextContentAsync())!;
        await DashboardPage.SaveScreenshotAsync(tab, "dashboard-disconnected.png", "disconnected: stale cards");

        // Five minutes pass for the page while the hub is away: nothing it shows may move.
        await tab.Clock.FastForwardAsync("05:00");
        await Expect(card.Locator(".clock")).ToHaveTextAsync(frozenClock);
        await Expect(card.Locator(".eta")).ToHaveTextAsync(frozenEta);
        await Expect(card.Locator(".counts")).ToHaveTextAsync("5 / 12 · 42%");

        // The hub comes back as a new run (a new epoch, nothing kept): the page says so and what was lost.
        await Host.RestartAsync();
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });
        await Expect(tab.Locator("#offline")).ToBeHiddenAsync();
        await Expect(tab.Locator("#notice")).ToBeVisibleAsync();
        await Expect(tab.Locator("#notice-title")).ToHaveTextAsync("The hub restarted");
        await Expect(tab.Locator("#notice-lead")).ToHaveTextAsync("It came back with a new history (a new or reset store, or --new-epoch), so this is what changed:");
        await Expect(tab.Locator("#notice-list")).ToContainTextAsync("GPT-4o, Claude 3.5 Sonnet (benchmark) was running at 5 / 12");
        // A process titled by its type is named once ("export (export)" before an audit).
        await Expect(tab.Locator("#notice-list")).ToContainTextAsync("export was running at 0 / 4");
        var lost = tab.Locator($"#ended li.card[data-process-id='{run.ProcessId}']");
        await Expect(lost.Locator(".badge")).ToHaveTextAsync("lost");
        await Expect(lost.Locator(".outcome")).ToHaveTextAsync("Outcome unknown: the hub restarted while this was running.");
        await Expect(lost.Locator(".cancel")).ToBeHiddenAsync();
        await Expect(tab.Locator("#running li.card")).ToHaveCountAsync(0);
        await Expect(tab.Locator("#start-button")).ToBeEnabledAsync();
        await DashboardPage.SaveScreenshotAsync(tab, "dashboard-restarted.png", "after a restart: the notice");

        await tab.ClickAsync("#notice-dismiss");
        await Expect(tab.Locator("#notice")).ToBeHiddenAsync();
        await Expect(lost).ToHaveCountAsync(0);
        await context.CloseAsync();
    }

    [Test]
    public async Task A_reconnect_to_the_same_hub_says_what_ended_meanwhile_and_shows_its_outcome()
    {
        // The page reaches the hub through a proxy whose connections the test can cut: the network fails, the hub
        // does not (the same epoch afterwards).
        await using var proxy = CuttableProxy.Start(Host.EndPoint);
        var run = StartBenchmark("dev", total: 4);
        run.ReportProgress(1, 4, "GPT-4o", "Run 1/3, Context 1K");
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, proxy.BaseUrl);
        var card = Card(tab, run.ProcessId);
        await Expect(card.Locator(".counts")).ToHaveTextAsync("1 / 4 · 25%");

        proxy.Refuse = true;
        await proxy.CutAllAsync();
        await Expect(tab.Locator("#offline")).ToBeVisibleAsync();
        await Expect(card).ToHaveAttributeAsync("data-stale", "true");
        await Expect(card.Locator(".cancel")).ToBeDisabledAsync();

        run.ReportProgress(2, 4, "GPT-4o", "Run 2/3, Context 1K");
        run.Complete(new { steps = 4, scores = new Dictionary<string, double> { ["GPT-4o"] = 0.7, ["Claude 3.5 Sonnet"] = 0.6 } });
        await Expect(card.Locator(".counts")).ToHaveTextAsync("1 / 4 · 25%"); // nothing can arrive while cut off
        proxy.Refuse = false;

        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });
        await Expect(tab.Locator("#offline")).ToBeHiddenAsync();
        await Expect(tab.Locator("#notice-title")).ToHaveTextAsync("Reconnected");
        await Expect(tab.Locator("#notice-list")).ToHaveTextAsync("GPT-4o, Claude 3.5 Sonnet: completed.");
        var ended = tab.Locator($"#ended li.card[data-process-id='{run.ProcessId}']");
        await Expect(ended.Locator(".badge")).ToHaveTextAsync("completed");
        await Expect(ended).ToHaveAttributeAsync("data-stale", "false");
        await Expect(ended.Locator("table.result tbody tr")).ToHaveCountAsync(2);
        await Expect(ended.Locator(".clock")).ToHaveTextAsync(new Regex(@"^Took "));
        await context.CloseAsync();
    }

    [Test]
    public async Task A_reconnect_with_hundreds_of_running_processes_asks_for_no_more_replays_than_the_message_budget_allows()
    {
        await using var proxy = CuttableProxy.Start(Host.EndPoint);
        var runs = Enumerable.Range(0, 220).Select(i => Host.App.Producer.Start("export", "dev", total: 10)).ToList();
        foreach (var run in runs)
        {
            run.ReportProgress(1, 10);
        }
        var context = await Browser.NewContextAsync();
        // Every message the page sends, as sent.
        await context.AddInitScriptAsync("""
            window.__sent = [];
            const send = WebSocket.prototype.send;
            WebSocket.prototype.send = function (data) { window.__sent.push(String(data)); return send.call(this, data); };
            """);
        var tab = await DashboardPage.OpenAsync(context, proxy.BaseUrl);
        await Expect(tab.Locator("#running li.card")).ToHaveCountAsync(220);

        proxy.Refuse = true;
        await proxy.CutAllAsync();
        await Expect(tab.Locator("#offline")).ToBeVisibleAsync();
        foreach (var run in runs)
        {
            run.ReportProgress(2, 10); // every one moves on while the tab is away
        }
        proxy.Refuse = false;
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });

        // The resume is sent as the list arrives, before the page shows itself open: 220 subscribes used to go out at
        // once, past the hub's burst of 100 messages (rate_limited errors, then 1008 and a reconnect, over and over).
        var sent = await tab.EvaluateAsync<string[]>("window.__sent");
        int resumes = sent.Count(message => message.Contains("\"request_id\":\"resume-", StringComparison.Ordinal));
        Assert.That(resumes, Is.EqualTo(50), "one replay asked for per process that moved on, at most 50");
        await Expect(Card(tab, runs[^1].ProcessId).Locator(".counts")).ToHaveTextAsync("2 / 10 · 20%");
        await context.CloseAsync();
    }

    [Test]
    public async Task A_connection_that_drops_right_after_its_list_does_not_start_the_backoff_over()
    {
        await using var proxy = CuttableProxy.Start(Host.EndPoint);
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, proxy.BaseUrl);
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");

        await proxy.CutAllAsync();
        await Expect(tab.Locator("#offline-text")).ToContainTextAsync("(attempt 1)");
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });

        // Dropped again at once, as a hub closing every connection after its list (4429, 1008) would: the next try
        // waits longer, rather than starting over at the shortest delay as if the last connection had been good.
        await proxy.CutAllAsync();
        await Expect(tab.Locator("#offline-text")).ToContainTextAsync("(attempt 2)");
        await context.CloseAsync();
    }

    [Test]
    public async Task An_admin_sees_when_and_by_whom_a_process_left_out_of_its_list_started()
    {
        // Enough processes that an admin's list (a bounded view of about 512 KiB) leaves the oldest out.
        string[] owners = [new string('a', 200), new string('b', 200)];
        var runs = Enumerable.Range(0, 1200).Select(i => Host.App.Producer.Start(new string('t', 64), owners[i % 2], total: 10)).ToList();
        var admin = await OpenAsync(await Browser.NewContextAsync(), "?user=carol&role=admin");
        await Expect(admin.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
        var oldest = runs[0];
        await Expect(Card(admin, oldest.ProcessId)).ToHaveCountAsync(0); // left out of the list

        // Its next event makes a card from the event alone; the page asks the hub for the rest.
        oldest.ReportProgress(3, 10);
        var card = Card(admin, oldest.ProcessId);
        await Expect(card.Locator(".counts")).ToHaveTextAsync("3 / 10 · 30%");
        await Expect(card.Locator(".owner")).ToHaveTextAsync($"by {owners[0]}");
    }

    [Test]
    public async Task A_reloaded_tab_shows_every_outcome_as_the_live_tab_did()
    {
        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var live = await OpenAsync(context);

        var benchmark = StartBenchmark("dev", total: 2);
        benchmark.ReportProgress(1, 2, "GPT-4o", "Run 1/1, Context 1K");
        benchmark.ReportProgress(2, 2, "Claude 3.5 Sonnet", "Run 1/1, Context 1K");
        benchmark.Complete(new { steps = 2, scores = new Dictionary<string, double> { ["GPT-4o"] = 0.512, ["Claude 3.5 Sonnet"] = 0.734 } });
        var cancelled = Host.App.Producer.Start("eval", "dev", total: 3, parameters: new { suite = "mmlu", shots = 5 });
        cancelled.ReportProgress(1, 3);
        cancelled.Cancel("dev");
        var failed = Host.App.Producer.Start("sync", "dev", total: 1);
        failed.Fail("GPU lost", "oom");
        var export = Host.App.Producer.Start("export", "dev", total: 1);
        export.Complete(new { rows = 42, file = "out.csv" });
        var running = StartBenchmark("dev", total: 6);
        running.ReportProgress(2, 6, "GPT-4o", "Run 1/3, Context 5K");

        string[] ended = [benchmark.ProcessId, cancelled.ProcessId, failed.ProcessId, export.ProcessId];
        await Expect(live.Locator("#ended li.card")).ToHaveCountAsync(4);
        await Expect(live.Locator($"li.card[data-process-id='{running.ProcessId}'] .counts")).ToHaveTextAsync("2 / 6 · 33%");

        // What the live tab shows, checked once...
        var table = Card(live, benchmark.ProcessId).Locator("table.result");
        await Expect(table.Locator("caption")).ToHaveTextAsync("Mean score per model over 2 steps");
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(table.Locator("tbody tr").Nth(0)).ToHaveClassAsync("best");
        await Expect(table.Locator("tbody tr").Nth(0).Locator("th")).ToHaveTextAsync("Claude 3.5 Sonnet");
        await Expect(table.Locator("tbody tr").Nth(0).Locator("td")).ToHaveTextAsync("0.734");
        await Expect(table.Locator("tbody tr").Nth(1).Locator("th")).ToHaveTextAsync("GPT-4o");
        await Expect(Card(live, benchmark.ProcessId).Locator(".title")).ToHaveTextAsync("GPT-4o, Claude 3.5 Sonnet");
        await Expect(Card(live, cancelled.ProcessId).Locator(".outcome")).ToHaveTextAsync("Cancelled by dev.");
        await Expect(Card(live, cancelled.ProcessId).Locator(".title")).ToHaveTextAsync("eval");
        await Expect(Card(live, cancelled.ProcessId).Locator(".subtitle")).ToHaveTextAsync("suite: mmlu · shots: 5");
        await Expect(Card(live, failed.ProcessId).Locator(".outcome")).ToHaveTextAsync("Error: GPU lost (oom)");
        await Expect(Card(live, export.ProcessId).Locator("table.result tbody tr")).ToHaveTextAsync(["rows42", "fileout.csv"]);
        foreach (var id in ended)
        {
            await Expect(Card(live, id).Locator(".clock")).ToHaveTextAsync(new Regex(@"^Took (\d+\.\d|<0\.1)s$"));
            await Expect(Card(live, id).Locator(".outcome")).Not.ToContainTextAsync("{");
        }
        var before = await DescribeCardsAsync(live, [.. ended, running.ProcessId]);
        await DashboardPage.SaveScreenshotAsync(live, "dashboard-outcomes.png", "live: every kind of outcome");

        // ...and exactly the same after a reload and in a tab opened afterwards, which only had process_list.
        await live.ReloadAsync();
        await Expect(live.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
        var fresh = await OpenAsync(context);
        foreach (var tab in new[] { live, fresh })
        {
            await Expect(tab.Locator("#ended li.card")).ToHaveCountAsync(4);
            await Expect(Card(tab, benchmark.ProcessId).Locator("table.result tbody tr")).ToHaveCountAsync(2);
            var after = await DescribeCardsAsync(tab, [.. ended, running.ProcessId]);
            Assert.That(after, Is.EqualTo(before));
        }
        await context.CloseAsync();
    }

    [Test]
    public async Task Results_a_long_list_left_out_are_fetched_and_shown()
    {
        // Five 60,000-byte results: process_list carries the newest four, the oldest names its result in "omitted".
        var runs = new List<ProcessHandle>();
        for (int i = 0; i < 5; i++)
        {
            var run = Host.App.Producer.Start("export", "dev", total: 1, parameters: new { part = i });
            run.Complete(new { blob = new string((char)('a' + i), 60_000), part = i });
            runs.Add(run);
        }
        var context = await Browser.NewContextAsync();
        var tab = await OpenAsync(context);

        var oldest = Card(tab, runs[0].ProcessId);
        await Expect(oldest.Locator("table.result tbody tr")).ToHaveCountAsync(2);
        await Expect(oldest.Locator("table.result tbody tr").Nth(0).Locator("td")).ToHaveTextAsync(new string('a', 159) + "…");
        await Expect(oldest.Locator("table.result tbody tr").Nth(1)).ToHaveTextAsync("part0");
        await Expect(Card(tab, runs[4].ProcessId).Locator("table.result tbody tr").Nth(1)).ToHaveTextAsync("part4");
        await context.CloseAsync();
    }

    [Test]
    public async Task Results_left_out_are_all_fetched_even_past_the_request_budget()
    {
        // Twelve 60,000-byte results, eight left out of the list, against a budget of 2 requests a second: the page
        // sent the eight look-ups at once, the ones refused with 429 were never tried again, and their cards said
        // "loading its result" until the next list.
        await using var host = new DashboardHost(new ProcessHub.Hub.HubOptions { ApiRequestsPerSecond = 2 });
        host.Start();
        var runs = new List<ProcessHandle>();
        for (int i = 0; i < 12; i++)
        {
            var run = host.App.Producer.Start("export", "dev", total: 1, parameters: new { part = i });
            run.Complete(new { blob = new string('r', 60_000), part = i });
            runs.Add(run);
        }
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, host.BaseUrl);

        foreach (var run in runs)
        {
            await Expect(Card(tab, run.ProcessId).Locator("table.result tbody tr")).ToHaveCountAsync(2, new() { Timeout = 60_000 });
        }
        await context.CloseAsync();
    }

    [Test]
    public async Task A_running_card_whose_process_was_let_go_while_the_tab_was_away_leaves_with_a_word()
    {
        // The list after a reconnect (same epoch) lacks a process the tab knew running. The card is kept until the
        // hub says what became of it (it may be a hub still catching up, 11.4); here the hub let it go (one ended
        // process kept per owner), so it answers 404 and the card leaves.
        await using var host = new DashboardHost(new ProcessHub.Hub.HubOptions { MaxProcessesPerUser = 1 });
        host.Start();
        await using var proxy = CuttableProxy.Start(host.EndPoint);
        var first = host.App.Producer.Start("export", "dev", total: 4, parameters: new { part = "first" });
        first.ReportProgress(1, 4);
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, proxy.BaseUrl);
        await Expect(Card(tab, first.ProcessId).Locator(".counts")).ToHaveTextAsync("1 / 4 · 25%");

        proxy.Refuse = true;
        await proxy.CutAllAsync();
        await Expect(tab.Locator("#offline")).ToBeVisibleAsync();
        first.Complete();
        var second = host.App.Producer.Start("export", "dev", total: 1, parameters: new { part = "second" });
        second.Complete();
        await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(host.EndPoint, $"/api/processes/{first.ProcessId}", host.Token("dev"))).Status,
            status => status == 404, "the first process let go (one ended process kept per owner)");
        proxy.Refuse = false;

        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });
        await Expect(tab.Locator($"li.card[data-process-id='{first.ProcessId}']")).ToHaveCountAsync(0);
        await Expect(tab.Locator("#toast")).ToContainTextAsync("ended and has left the list.");
        await Expect(tab.Locator($"#ended li.card[data-process-id='{second.ProcessId}']")).ToHaveCountAsync(1);
        await context.CloseAsync();
    }

    [Test]
    public async Task A_tab_past_its_users_connection_limit_says_why_it_keeps_retrying()
    {
        await using var host = new DashboardHost(new ProcessHub.Hub.HubOptions { MaxConnectionsPerUser = 1 });
        host.Start();
        var context = await Browser.NewContextAsync();
        await DashboardPage.OpenAsync(context, host.BaseUrl);

        // The second tab of the same user is closed with 1013; it used to show only "Reconnecting" for ever.
        var second = await context.NewPageAsync();
        await second.GotoAsync(host.BaseUrl);
        await Expect(second.Locator("#offline-text")).ToContainTextAsync("too many connections for this user; close other tabs of this user, or wait");
        // It never connected: no connection was lost, and it has no cards to call the last known state (an audit).
        await Expect(second.Locator("#offline-what")).ToHaveTextAsync("Could not connect");
        await Expect(second.Locator("#offline-cards")).ToBeHiddenAsync();
        await context.CloseAsync();
    }

    [Test]
    public async Task An_admins_bounded_list_says_it_is_one()
    {
        // About 2 KB of progress each: 300 running processes are more than an admin's list carries (docs/protocol.md 3.4).
        for (int i = 0; i < 300; i++)
        {
            Host.App.Producer.Start("export", $"user-{i % 7}", total: 10).ReportProgress(1, 10, detail: new string('d', 1900));
        }
        var admin = await OpenAsync(await Browser.NewContextAsync(), "?user=carol&role=admin");

        await Expect(admin.Locator("#list-note")).ToBeVisibleAsync();
        await Expect(admin.Locator("#list-note")).ToContainTextAsync(new Regex(@"^Showing \d+ of 300 processes"));
        var user = await OpenAsync(await Browser.NewContextAsync(), "?user=user-1");
        await Expect(user.Locator("#list-note")).ToBeHiddenAsync();
    }

    [Test]
    public async Task Signed_out_nothing_pretends_to_work()
    {
        var context = await Browser.NewContextAsync();
        await context.AddInitScriptAsync("sessionStorage.setItem('processhub.token', 'not-a-token');");
        var tab = await context.NewPageAsync();
        await tab.GotoAsync(Host.BaseUrl);

        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "signed-out");
        await Expect(tab.Locator("#signin")).ToBeVisibleAsync();
        await Expect(tab.Locator("#start-button")).ToBeDisabledAsync();
        await Expect(tab.Locator("#start-message")).ToHaveTextAsync("Sign in to start a benchmark.");
        await Expect(tab.Locator("#running-empty")).ToHaveTextAsync("Sign in to see your processes.");
        await Expect(tab.GetByText("Nothing is running")).ToHaveCountAsync(0);
        await Expect(tab.Locator("#ended-empty")).ToBeHiddenAsync();
        await Expect(tab.Locator("#offline")).ToBeHiddenAsync();

        // A valid token brings it all to life.
        await tab.FillAsync("#token-input", Host.Token("erin"));
        await tab.ClickAsync("#signin button[type=submit]");
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
        await Expect(tab.Locator("#who")).ToHaveTextAsync("Signed in as erin");
        await Expect(tab.Locator("#start-button")).ToBeEnabledAsync();
        await Expect(tab.Locator("#start-message")).ToHaveTextAsync("");
        await Expect(tab.Locator("#running-empty")).ToHaveTextAsync("Nothing is running. Start a benchmark, or from any producer.");
        await context.CloseAsync();
    }

    [Test]
    public async Task A_dev_user_name_the_hub_will_not_sign_is_explained_on_the_sign_in_form()
    {
        var context = await Browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        await tab.GotoAsync(Host.BaseUrl + "?user=al%20ice");

        await Expect(tab.Locator("#signin")).ToBeVisibleAsync();
        await Expect(tab.Locator("#signin-reason")).ToContainTextAsync("Dev mode will not sign in as “al ice”: user must be 1 to 64 characters");
        await Expect(tab.Locator("#start-button")).ToBeDisabledAsync();
        await context.CloseAsync();
    }

    [Test]
    public async Task Two_users_side_by_side_in_dev_mode_see_only_their_own_and_an_admin_sees_both()
    {
        var alice = await OpenAsync(await Browser.NewContextAsync(), "?user=alice");
        var bob = await OpenAsync(await Browser.NewContextAsync(), "?user=bob");
        await Expect(alice.Locator("#who")).ToHaveTextAsync("Dev mode, signed in as alice");
        await Expect(bob.Locator("#who")).ToHaveTextAsync("Dev mode, signed in as bob");

        await alice.FillAsync("#step-ms", "60000");
        await alice.ClickAsync("#start-button");
        await Expect(alice.Locator("#start-message")).ToContainTextAsync("Started benchmark");
        var bobsRun = Host.App.Producer.Start("eval", "bob", total: 2);

        await Expect(alice.Locator("#running li.card")).ToHaveCountAsync(1);
        await Expect(alice.Locator("#running li.card .owner")).ToHaveTextAsync("by alice");
        await Expect(bob.Locator($"li.card[data-process-id='{bobsRun.ProcessId}']")).ToHaveCountAsync(1);
        await Expect(bob.Locator("li.card")).ToHaveCountAsync(1);
        await Expect(alice.Locator($"li.card[data-process-id='{bobsRun.ProcessId}']")).ToHaveCountAsync(0);

        var admin = await OpenAsync(await Browser.NewContextAsync(), "?user=carol&role=admin");
        await Expect(admin.Locator("#who")).ToHaveTextAsync("Dev mode, signed in as carol (admin)");
        await Expect(admin.Locator("#running li.card")).ToHaveCountAsync(2);
        await Expect(admin.Locator("#running li.card .owner")).ToHaveTextAsync(["by bob", "by alice"]);
        foreach (var page in new[] { alice, bob, admin })
        {
            await page.Context.CloseAsync();
        }
    }

    [Test]
    public async Task On_a_phone_the_running_processes_come_first_and_the_start_form_is_folded()
    {
        var context = await Browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = 390, Height = 844 },
            DeviceScaleFactor = 2,
            IsMobile = true,
            HasTouch = true,
        });
        var done = StartBenchmark("dev", total: 2);
        done.Complete(new { steps = 2, scores = new Dictionary<string, double> { ["GPT-4o"] = 0.61, ["Claude 3.5 Sonnet"] = 0.58 } });
        var run = StartBenchmark("dev", total: 12);
        run.ReportProgress(7, 12, "Claude 3.5 Sonnet", "Run 1/3, Context 5K");
        var tab = await OpenAsync(context);
        var card = tab.Locator($"li.card[data-process-id='{run.ProcessId}']");
        await Expect(card.Locator(".counts")).ToHaveTextAsync("7 / 12 · 58%");

        var cardBox = (await card.BoundingBoxAsync())!;
        var formBox = (await tab.Locator("#start-panel").BoundingBoxAsync())!;
        Assert.Multiple(() =>
        {
            Assert.That(cardBox.Y + cardBox.Height, Is.LessThanOrEqualTo(844), "the whole running card is on the first screen");
            Assert.That(formBox.Y, Is.GreaterThan(cardBox.Y + cardBox.Height), "the start form comes after the running processes");
        });
        Assert.That(await tab.Locator("#start-panel").EvaluateAsync<bool>("panel => panel.open"), Is.False, "folded");
        await Expect(tab.Locator("#models")).ToBeHiddenAsync();
        await DashboardPage.SaveScreenshotAsync(tab, "dashboard-phone.png", "a phone: running first, form folded");

        await tab.Locator("#start-panel summary").ClickAsync();
        await Expect(tab.Locator("#models")).ToBeVisibleAsync();
        await Expect(tab.Locator("#start-button")).ToBeEnabledAsync();
        await context.CloseAsync();
    }

    [Test]
    public async Task Cancel_takes_a_second_click_on_the_same_card_so_a_click_on_a_card_that_moved_there_cancels_nothing()
    {
        // Cards move as runs start (the newest first): a click aimed at one Cancel can land on the card that just took
        // its place. One click only asks for confirmation, on that card.
        var older = Host.App.Producer.Start("eval", "dev", total: 3);
        var newer = Host.App.Producer.Start("eval", "dev", total: 3);
        var tab = await OpenAsync(await Browser.NewContextAsync());
        var newerCancel = Card(tab, newer.ProcessId).Locator("button.cancel");
        var olderCancel = Card(tab, older.ProcessId).Locator("button.cancel");

        await newerCancel.ClickAsync();
        await Expect(newerCancel).ToHaveTextAsync("Confirm cancel");
        await olderCancel.ClickAsync();
        await Expect(olderCancel).ToHaveTextAsync("Confirm cancel");
        await olderCancel.ClickAsync();

        // One connection carries the clicks' messages in order: had the first click sent a cancel, its
        // process_cancelled would have come before this one.
        await Expect(tab.Locator($"#ended li.card[data-process-id='{older.ProcessId}'] .badge")).ToHaveTextAsync("cancelled");
        await Expect(tab.Locator($"#running li.card[data-process-id='{newer.ProcessId}']")).ToHaveCountAsync(1);
        Assert.That(older.CancellationToken.IsCancellationRequested, Is.True);
        Assert.That(newer.CancellationToken.IsCancellationRequested, Is.False, "one click on the newer card cancelled nothing");
        await tab.Context.CloseAsync();
    }

    private ProcessHandle StartBenchmark(string owner, int total) =>
        Host.App.Producer.Start("benchmark", owner, total, new { models = Models, runs = 3, contexts = Contexts, step_ms = 500 });

    [Test]
    public async Task While_an_attempt_to_reconnect_is_under_way_the_page_no_longer_counts_down_to_it()
    {
        var context = await Browser.NewContextAsync();
        await context.Clock.InstallAsync();
        var tab = await OpenAsync(context);
        // From here the page's time moves only when the test moves it: what it shows cannot be a tick's later repair.
        // Paused a second past the page's own now (a pause in its past throws, and on a loaded machine the page's clock
        // can be past the test's DateTime.Now plus a few milliseconds by the time the call arrives).
        double pageNow = await tab.EvaluateAsync<double>("Date.now()");
        await tab.Clock.PauseAtAsync(DateTimeOffset.FromUnixTimeMilliseconds((long)pageNow + 1000).UtcDateTime);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The attempt holds at its first step (dev mode fetches a token), as on a slow network.
        await tab.RouteAsync("**/api/dev-token**", async route =>
        {
            asked.TrySetResult();
            await release.Task;
            await route.AbortAsync();
        });

        await Host.StopAsync();
        await Expect(tab.Locator("#offline-text")).ToHaveTextAsync(new Regex(@"^Reconnecting in \d+ s \(attempt 1\)\.$"));
        // Past the backoff (at most 1 s for the first attempt) in steps of 100 ms, until the attempt starts.
        for (int step = 0; step < 100 && !asked.Task.IsCompleted; step++)
        {
            await tab.Clock.RunForAsync(100);
        }
        Assert.That(asked.Task.IsCompleted, Is.True, "the page never tried again");

        await Expect(tab.Locator("#offline-text")).ToHaveTextAsync("Reconnecting… (attempt 1).");
        // The header's words and its countdown (kept apart so that a screen reader hears the words once).
        await Expect(tab.Locator("#conn")).ToHaveTextAsync("Reconnecting…");
        release.SetResult();
    }

    private Task<IPage> OpenAsync(IBrowserContext context, string query = "") => DashboardPage.OpenAsync(context, Host.BaseUrl, query);

    private static ILocator Card(IPage tab, string processId) => tab.Locator($"li.card[data-process-id='{processId}']");

    /// <summary>Everything a card says, by process id, to compare one tab's cards with another's.</summary>
    private static async Task<Dictionary<string, string>> DescribeCardsAsync(IPage tab, IEnumerable<string> ids)
    {
        var described = new Dictionary<string, string>();
        foreach (var id in ids)
        {
            var card = Card(tab, id);
            var parts = new List<string>();
            foreach (var part in new[] { ".title", ".subtitle", ".badge", ".counts", ".model", ".detail", ".owner", ".outcome" })
            {
                parts.Add(await card.Locator(part).InnerTextAsync());
            }
            if (await card.GetAttributeAsync("data-status") != "running")
            {
                parts.Add(await card.Locator(".clock").InnerTextAsync()); // a running clock moves; an ended one must not
            }
            described[id] = string.Join(" | ", parts);
        }
        return described;
    }
}
