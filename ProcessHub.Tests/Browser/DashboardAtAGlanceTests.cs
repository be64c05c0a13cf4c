using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// What a person should read at a glance: failures that ended below dozens of running cards are named at the top and
/// can be shown alone, large counts carry the reader's own thousands separators, and the clocks never say "0" of
/// something that did take time.
/// </summary>
[TestFixture]
[Category("browser")]
[NonParallelizable]
public sealed class DashboardAtAGlanceTests : BrowserAndHubTests
{
    [Test]
    public async Task Failures_below_the_running_cards_are_named_under_Running_and_can_be_shown_alone()
    {
        for (int i = 0; i < 20; i++) Host.App.Producer.Start("eval", "dev", total: 10);
        var completed = Host.App.Producer.Start("eval", "dev", total: 1);
        completed.Complete();
        var cancelled = Host.App.Producer.Start("eval", "dev", total: 1);
        cancelled.Cancel("dev");
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 600 } });
        var tab = await DashboardPage.OpenAsync(context, Host.BaseUrl);
        await Expect(tab.Locator("#ended li.card")).ToHaveCountAsync(2);
        await Expect(tab.Locator("#failed-line")).ToBeHiddenAsync();
        await Expect(tab.Locator("#failed-only")).ToBeHiddenAsync();

        // Failures arrive live; the line under "Running" counts them.
        var first = Host.App.Producer.Start("eval", "dev", total: 10);
        first.Fail("CUDA out of memory", "oom");
        await Expect(tab.Locator("#failed-jump")).ToHaveTextAsync("1 process failed recently");
        var second = Host.App.Producer.Start("eval", "dev", total: 10);
        second.Fail("dataset not found", "missing");
        await Expect(tab.Locator("#failed-jump")).ToHaveTextAsync("2 processes failed recently");
        var failedCard = tab.Locator($"li.card[data-process-id='{first.ProcessId}']");
        await Expect(failedCard).Not.ToBeInViewportAsync();
        await DashboardPage.SaveScreenshotAsync(tab, "dashboard-failed-line.png", "failures named under Running");

        // The link leads to them, and the ended list then shows only them.
        await tab.ClickAsync("#failed-jump");
        await Expect(failedCard).ToBeInViewportAsync();
        await Expect(tab.Locator("#failed-only")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(tab.Locator("#failed-only")).ToHaveTextAsync("Failed only (2)");
        await Expect(tab.Locator("#ended li.card:visible")).ToHaveCountAsync(2);
        await Expect(tab.Locator($"li.card[data-process-id='{completed.ProcessId}']")).ToBeHiddenAsync();
        await Expect(tab.Locator("#ended-count")).ToHaveTextAsync("4");
        await DashboardPage.SaveScreenshotAsync(tab, "dashboard-failed-only.png", "failures shown alone under Recently ended");

        // Pressed again, the whole list is back.
        await tab.ClickAsync("#failed-only");
        await Expect(tab.Locator("#failed-only")).ToHaveAttributeAsync("aria-pressed", "false");
        await Expect(tab.Locator("#ended li.card:visible")).ToHaveCountAsync(4);
        await context.CloseAsync();
    }

    [TestCase("en-US", "987,654 / 1,234,567 · 80%")]
    [TestCase("de-DE", "987.654 / 1.234.567 · 80%")]
    public async Task Large_counts_carry_the_readers_thousands_separators(string locale, string expected)
    {
        var run = Host.App.Producer.Start("eval", "dev", total: 1_234_567);
        run.ReportProgress(987_654, 1_234_567);
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { Locale = locale });
        var tab = await DashboardPage.OpenAsync(context, Host.BaseUrl);

        await Expect(tab.Locator($"li.card[data-process-id='{run.ProcessId}'] .counts")).ToHaveTextAsync(expected);
        await context.CloseAsync();
    }

    [Test]
    public async Task An_instant_process_took_under_a_tenth_of_a_second_and_one_about_to_end_has_under_a_second_left()
    {
        // The hub's clock stands still unless moved, so the durations it sends are exactly what the test makes them.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = new DashboardHost { Time = clock };
        host.Start();
        var instant = host.App.Producer.Start("eval", "dev", total: 1);
        instant.Complete();
        var measured = host.App.Producer.Start("eval", "dev", total: 1);
        clock.Advance(TimeSpan.FromMilliseconds(2_500));
        measured.Complete();
        // Started at the hub's "now", seconds ago by the page's clock: 999 of 1,000 leaves a few milliseconds.
        var nearlyDone = host.App.Producer.Start("eval", "dev", total: 1_000);
        nearlyDone.ReportProgress(999, 1_000);
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, host.BaseUrl);

        await Expect(tab.Locator($"li.card[data-process-id='{instant.ProcessId}'] .clock")).ToHaveTextAsync("Took <0.1s");
        await Expect(tab.Locator($"li.card[data-process-id='{measured.ProcessId}'] .clock")).ToHaveTextAsync("Took 2.5s");
        await Expect(tab.Locator($"li.card[data-process-id='{nearlyDone.ProcessId}'] .eta")).ToHaveTextAsync("ETA <1s");
        await context.CloseAsync();
    }

    [Test]
    public async Task A_long_detail_model_or_param_is_cut_on_the_card_and_whole_in_its_tooltip_and_a_meaningless_ETA_is_left_out()
    {
        // From an audit: a 3,500-character detail made one card 1,630 px tall, and a total of 9e18 with one step done
        // said "ETA 72436777110554190h 05m".
        string detail = string.Concat(Enumerable.Repeat("long ", 700));
        string model = new('m', 400);
        string path = "/data/" + new string('p', 500);
        const long Total = 1_000_000_000_000_000;
        var run = Host.App.Producer.Start("eval", "dev", total: Total, parameters: new { dataset = path });
        run.ReportProgress(1, Total, model, detail);
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, Host.BaseUrl);
        var card = tab.Locator($"li.card[data-process-id='{run.ProcessId}']");

        await Expect(card.Locator(".detail")).ToHaveTextAsync(detail[..299] + "…");
        await Expect(card.Locator(".detail")).ToHaveAttributeAsync("title", detail);
        await Expect(card.Locator(".model")).ToHaveTextAsync(model[..159] + "…");
        await Expect(card.Locator(".model")).ToHaveAttributeAsync("title", model);
        await Expect(card.Locator(".subtitle")).ToHaveTextAsync(("dataset: " + path)[..199] + "…");
        await Expect(card.Locator(".title")).ToHaveAttributeAsync("title", "eval · dataset: " + path);
        await Expect(card.Locator(".eta")).ToHaveTextAsync("ETA over 30 days");

        // A report back to short text takes the tooltip away again.
        run.ReportProgress(2, Total, "GPT-4o", "shard 2");
        await Expect(card.Locator(".detail")).ToHaveTextAsync("shard 2");
        await Expect(card.Locator(".detail")).ToHaveAttributeAsync("title", "");
        await context.CloseAsync();
    }

    [Test]
    public async Task An_ended_process_leaves_the_page_when_the_hub_forgets_it()
    {
        // The hub sends nothing when its retention lets a process go: the page kept it (up to 500), and a subscribe
        // or a cancel from it then got not_found. process_list says the retention, and the page follows it.
        await using var host = new DashboardHost(new ProcessHub.Hub.HubOptions { Retention = TimeSpan.FromSeconds(3) });
        host.Start();
        var running = host.App.Producer.Start("eval", "dev", total: 10);
        var done = host.App.Producer.Start("eval", "dev", total: 1);
        done.Complete();
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, host.BaseUrl);

        await Expect(tab.Locator($"li.card[data-process-id='{done.ProcessId}']")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await Expect(tab.Locator($"li.card[data-process-id='{running.ProcessId}']")).ToHaveCountAsync(1);
        await Expect(tab.Locator("#ended-count")).ToHaveTextAsync("0");
        await context.CloseAsync();
    }

    [Test]
    public async Task The_retention_is_counted_on_the_hubs_clock_not_the_browsers()
    {
        // A hub whose clock is two hours behind the browser's (or a browser two hours ahead): an ended process an hour
        // from its end by the hub's clock must stay, though the browser's clock puts its end long past.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-2));
        await using var host = new DashboardHost(new ProcessHub.Hub.HubOptions { Retention = TimeSpan.FromHours(1) }) { Time = clock };
        host.Start();
        var running = host.App.Producer.Start("eval", "dev", total: 10);
        var done = host.App.Producer.Start("eval", "dev", total: 1);
        done.Complete();
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, host.BaseUrl);
        var runningClock = tab.Locator($"li.card[data-process-id='{running.ProcessId}'] .clock");
        // Elapsed on the hub's clock too (it read "Elapsed 2h 00m" for a process started that instant). The clocks and
        // the retention are checked in the same one-second pass: once the clock has moved twice, that pass ran.
        await Expect(runningClock).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^Elapsed [0-9]s$"));
        string first = await runningClock.InnerTextAsync();
        await Expect(runningClock).Not.ToHaveTextAsync(first, new() { Timeout = 10_000 });
        await Expect(runningClock).Not.ToHaveTextAsync(await runningClock.InnerTextAsync(), new() { Timeout = 10_000 });
        await Expect(tab.Locator($"li.card[data-process-id='{done.ProcessId}']")).ToHaveCountAsync(1);
        await context.CloseAsync();
    }
}
