using NUnit.Framework;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using ProcessHub.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// The dashboard in a real browser against a real hub: the seed's multi-tab promises as a person would see them.
/// </summary>
[TestFixture]
[Category("browser")]
[NonParallelizable]
public sealed class DashboardTests : BrowserAndHubTests
{
    [Test]
    public async Task A_benchmark_started_in_one_tab_advances_in_the_other_and_a_cancel_in_either_shows_in_both()
    {
        var context = await Browser.NewContextAsync();
        var tabA = await OpenAsync(context);
        var tabB = await OpenAsync(context);

        await tabA.FillAsync("#models", "GPT-4o, Claude");
        await tabA.FillAsync("#runs", "3");
        await tabA.FillAsync("#contexts", "1K, 5K");
        // Steps of 1.5 s: the cancel below, after two steps, a screenshot and two clicks, must come while it runs
        // (steps of 0.4 s left it about 3 s, which a loaded machine could use up).
        await tabA.FillAsync("#step-ms", "1500");
        await tabA.ClickAsync("#start-button");
        await Expect(tabA.Locator("#start-message")).ToContainTextAsync("Started benchmark");

        var cardInB = tabB.Locator("#running li.card");
        await Expect(cardInB).ToHaveCountAsync(1);
        // Titled by what it runs: the models, with the contexts and runs beneath.
        await Expect(cardInB.Locator(".title")).ToHaveTextAsync("GPT-4o, Claude");
        await Expect(cardInB.Locator(".subtitle")).ToHaveTextAsync("benchmark · contexts 1K, 5K · 3 runs each");
        // Progress advancing in the other tab: from 0 to at least 2 of 12 steps, with the seed's detail text.
        await Expect(cardInB.Locator(".counts")).ToHaveTextAsync(new Regex(@"^([2-9]|1[0-2]) / 12"));
        await Expect(cardInB.Locator(".detail")).ToHaveTextAsync(new Regex(@"^Run \d/3, Context (1K|5K)$"));

        await DashboardPage.SaveScreenshotAsync(tabB, "dashboard-mid-run.png", "the dashboard mid-run");

        await cardInB.Locator("button.cancel").ClickAsync();
        await Expect(cardInB.Locator("button.cancel")).ToHaveTextAsync("Confirm cancel");
        await cardInB.Locator("button.cancel").ClickAsync();
        foreach (var tab in new[] { tabA, tabB })
        {
            var ended = tab.Locator("#ended li.card");
            await Expect(ended).ToHaveCountAsync(1);
            await Expect(ended.Locator(".badge")).ToHaveTextAsync("cancelled");
            await Expect(ended.Locator(".outcome")).ToHaveTextAsync("Cancelled by dev.");
            await Expect(tab.Locator("#running li.card")).ToHaveCountAsync(0);
        }
        await context.CloseAsync();
    }

    [Test]
    public async Task A_reloaded_tab_shows_the_running_process_with_its_current_progress()
    {
        var run = Host.App.Producer.Start("benchmark", "dev", total: 12);
        run.ReportProgress(5, 12, "GPT-4o", "Run 2/3, Context 5K");

        var context = await Browser.NewContextAsync();
        var tab = await OpenAsync(context);
        var card = tab.Locator($"li.card[data-process-id='{run.ProcessId}']");
        await Expect(card.Locator(".counts")).ToHaveTextAsync("5 / 12 · 42%");

        await tab.ReloadAsync();
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
        await Expect(card.Locator(".counts")).ToHaveTextAsync("5 / 12 · 42%");
        await Expect(card.Locator(".model")).ToHaveTextAsync("GPT-4o");
        await Expect(card.Locator(".detail")).ToHaveTextAsync("Run 2/3, Context 5K");

        run.ReportProgress(6, 12, "GPT-4o", "Run 3/3, Context 1K");
        await Expect(card.Locator(".counts")).ToHaveTextAsync("6 / 12 · 50%");
        await context.CloseAsync();
    }

    [Test]
    public async Task Another_users_page_shows_nothing_of_devs_processes()
    {
        var devRun = Host.App.Producer.Start("benchmark", "dev", total: 4);

        var context = await Browser.NewContextAsync();
        // A token pasted once into this tab (sessionStorage) wins over the dev token.
        await context.AddInitScriptAsync($"sessionStorage.setItem('processhub.token', '{Host.Token("bob")}');");
        var bobTab = await OpenAsync(context);

        devRun.ReportProgress(1, 4, "GPT-4o", "Run 1/1, Context 1K");
        var bobRun = Host.App.Producer.Start("evaluation", "bob", total: 2);
        // Bob's own process arriving proves the page is live and has processed what came before it.
        await Expect(bobTab.Locator($"li.card[data-process-id='{bobRun.ProcessId}']")).ToHaveCountAsync(1);
        await Expect(bobTab.Locator($"li.card[data-process-id='{devRun.ProcessId}']")).ToHaveCountAsync(0);
        await Expect(bobTab.Locator("li.card")).ToHaveCountAsync(1);
        await context.CloseAsync();
    }

    [Test]
    public async Task The_page_reconnects_by_itself_after_the_server_restarts()
    {
        var context = await Browser.NewContextAsync();
        var tab = await OpenAsync(context);

        await Host.StopAsync();
        await Expect(tab.Locator("#conn")).Not.ToHaveAttributeAsync("data-state", "open");

        await Host.RestartAsync();
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });
        var run = Host.App.Producer.Start("benchmark", "dev", total: 3);
        run.ReportProgress(1, 3);
        await Expect(tab.Locator($"li.card[data-process-id='{run.ProcessId}'] .counts")).ToHaveTextAsync("1 / 3 · 33%");
        await context.CloseAsync();
    }

    [Test]
    public async Task Fifty_processes_updating_twenty_times_a_second_all_end_on_their_final_progress()
    {
        var context = await Browser.NewContextAsync();
        var tab = await OpenAsync(context);
        const int Rounds = 20;
        var runs = Enumerable.Range(0, 50).Select(i => Host.App.Producer.Start("benchmark", "dev", total: Rounds)).ToList();
        await Expect(tab.Locator("#running li.card")).ToHaveCountAsync(50);

        // 20 rounds at 20 per second: 1,000 progress events in one second, the load the page must take in stride.
        using var ticker = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        for (int step = 1; step <= Rounds; step++)
        {
            await ticker.WaitForNextTickAsync();
            foreach (var run in runs)
            {
                run.ReportProgress(step, Rounds, "GPT-4o", $"step {step}");
            }
        }

        foreach (var run in runs)
        {
            await Expect(tab.Locator($"li.card[data-process-id='{run.ProcessId}'] .counts")).ToHaveTextAsync($"{Rounds} / {Rounds} · 100%");
        }
        await Expect(tab.Locator("#running-count")).ToHaveTextAsync("50");
        await context.CloseAsync();
    }

    [Test]
    public async Task Producer_values_that_are_not_text_are_shown_as_JSON_and_the_page_goes_on_drawing()
    {
        // Progress fields are kept as sent (docs/protocol.md 1.4). {"toString":0} threw in String(), Number() and
        // textContent; the throw left the page unable to draw anything more, for every tab that listed it.
        string token = Host.Token("dev");
        var created = await RawHttpClient.PostAsync(Host.EndPoint, "/api/processes", token,
            """{"process_type":"benchmark","total":2,"params":{"models":[{"toString":0},"GPT-4o"],"runs":{"toString":0}}}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        string odd = created.Json.GetProperty("process_id").GetString()!;
        var context = await Browser.NewContextAsync();
        var tab = await OpenAsync(context);
        await Expect(tab.Locator($"li.card[data-process-id='{odd}'] .title")).ToHaveTextAsync("{\"toString\":0}, GPT-4o");

        var report = await RawHttpClient.PostAsync(Host.EndPoint, $"/api/processes/{odd}/progress", token,
            """{"current":1,"total":2,"model":{"toString":0},"detail":["shard",{"toString":0}]}""");
        Assert.That(report.Status, Is.EqualTo(200), report.ToString());
        var card = tab.Locator($"li.card[data-process-id='{odd}']");
        await Expect(card.Locator(".model")).ToHaveTextAsync("{\"toString\":0}");
        await Expect(card.Locator(".detail")).ToHaveTextAsync("[\"shard\",{\"toString\":0}]");

        var after = Host.App.Producer.Start("export", "dev", total: 4);
        after.ReportProgress(3, 4);
        await Expect(tab.Locator($"#running li.card[data-process-id='{after.ProcessId}'] .counts")).ToHaveTextAsync("3 / 4 · 75%");
        await context.CloseAsync();
    }

    [Test]
    public async Task A_tab_left_open_keeps_the_500_most_recently_ended_processes_not_every_one()
    {
        var context = await Browser.NewContextAsync();
        var tab = await OpenAsync(context);
        var runs = Enumerable.Range(0, 510).Select(_ => Host.App.Producer.Start("export", "dev", total: 1)).ToList();
        foreach (var run in runs)
        {
            run.Complete(null);
        }

        await Expect(tab.Locator($"#ended li.card[data-process-id='{runs[^1].ProcessId}']")).ToHaveCountAsync(1);
        await Expect(tab.Locator("#ended li.card")).ToHaveCountAsync(500);
        await Expect(tab.Locator($"#ended li.card[data-process-id='{runs[0].ProcessId}']")).ToHaveCountAsync(0);
        // It says so: the hub's list may hold more (an owner keeps up to --max-processes-per-user ended processes).
        await Expect(tab.Locator("#ended-count")).ToHaveTextAsync("500+");
        await Expect(tab.Locator("#ended-note")).ToHaveTextAsync(new Regex("^This page keeps the 500 most recently ended processes"));

        // A fresh list that holds more than 500 ended ones (a reload) says the same.
        var reloaded = await OpenAsync(context);
        await Expect(reloaded.Locator("#ended li.card")).ToHaveCountAsync(500);
        await Expect(reloaded.Locator("#ended-count")).ToHaveTextAsync("500+");
        await Expect(reloaded.Locator("#ended-note")).ToBeVisibleAsync();
        await context.CloseAsync();
    }

    [Test]
    public async Task Another_page_cannot_show_the_dashboard_in_a_frame()
    {
        // From a security audit: any site could frame the page and steer a developer's clicks onto Cancel.
        var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync("<p>elsewhere</p>");
        await page.EvaluateAsync("""
            url => new Promise(resolve => {
              const frame = document.createElement('iframe');
              frame.onload = () => resolve();
              frame.src = url;
              document.body.appendChild(frame);
            })
            """, Host.BaseUrl);

        var framed = page.Frames.Single(frame => frame != page.MainFrame);
        Assert.That(framed.Url, Does.Not.StartWith(Host.BaseUrl), "the frame did not load the dashboard");
        Assert.That(await framed.Locator("#conn").CountAsync(), Is.Zero);
        await context.CloseAsync();
    }

    [Test]
    public async Task The_page_is_served_from_the_binary_with_content_types_and_revalidation()
    {
        var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        foreach (var (path, type) in new[] { ("", "text/html"), ("app.css", "text/css"), ("app.js", "text/javascript") })
        {
            var response = await page.APIRequest.GetAsync(Host.BaseUrl + path);
            Assert.That(response.Status, Is.EqualTo(200), path);
            Assert.That(response.Headers["content-type"], Does.StartWith(type), path);
            Assert.That(response.Headers["cache-control"], Is.EqualTo("no-cache"), path);
            Assert.That(response.Headers["x-frame-options"], Is.EqualTo("DENY"), path);
            Assert.That(response.Headers["content-security-policy"], Is.EqualTo("frame-ancestors 'none'"), path);
            var etag = response.Headers["etag"];
            var again = await page.APIRequest.GetAsync(Host.BaseUrl + path, new() { Headers = new Dictionary<string, string> { ["If-None-Match"] = etag } });
            Assert.That(again.Status, Is.EqualTo(304), path);
            // RFC 9110 8.6: a 304 may carry Content-Length only as the 200's; it said 0.
            Assert.That(again.Headers.ContainsKey("content-length"), Is.False, $"{path}: {string.Join(", ", again.Headers)}");
            // If-None-Match compares weakly (RFC 9110 13.1.2): the weak form of the tag matches, and so does "*"; tags
            // compare byte for byte (8.8.3.2), so the same hex in capitals, or a lower-case "w/", is another tag.
            var cases = new List<(string, int)> { ("W/" + etag, 304), ("*", 304), ("\"0000\", W/\"1111\"", 200), ("w/" + etag, 200) };
            if (etag.Any(char.IsAsciiLetterLower))
            {
                cases.Add((etag.ToUpperInvariant(), 200)); // hex with letters (a tag of digits only has no other case)
            }
            foreach (var (ifNoneMatch, status) in cases)
            {
                var conditional = await page.APIRequest.GetAsync(Host.BaseUrl + path, new() { Headers = new Dictionary<string, string> { ["If-None-Match"] = ifNoneMatch } });
                Assert.That(conditional.Status, Is.EqualTo(status), $"{path}, If-None-Match: {ifNoneMatch}");
            }
        }
        await context.CloseAsync();
    }

    private Task<IPage> OpenAsync(IBrowserContext context) => DashboardPage.OpenAsync(context, Host.BaseUrl);
}
