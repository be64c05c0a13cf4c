using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// What a person notices in the page's layout, with a keyboard or a screen reader, and from a tab in the background:
/// long producer text stays inside its card on a phone, the Cancel button does not move between its two clicks, a
/// keyboard cancel keeps the user's place, the reconnect countdown is not announced every second, and the tab's title
/// says whether the page is live.
/// </summary>
[TestFixture]
[Category("browser")]
[NonParallelizable]
public sealed class DashboardLayoutTests : BrowserAndHubTests
{
    [Test]
    public async Task Long_unbroken_producer_text_stays_inside_its_card_on_a_400_px_screen()
    {
        // No space and no hyphen: nowhere a browser would break it by itself.
        string path = "/mnt/data/datasets/" + string.Concat(Enumerable.Repeat("verylongsegment_without_spaces/", 6)) + "shard.jsonl";
        var running = Host.App.Producer.Start("eval", "dev", total: 10);
        running.ReportProgress(3, 10, model: "GPT-4o", detail: $"shard 3 of 10: {path}");
        var failed = Host.App.Producer.Start("eval", "dev", total: 10);
        string traceback = "CUDA out of memory. Tried to allocate 2.00 GiB; " + string.Concat(Enumerable.Repeat("  File \"train.py\", line 42, in step\n", 30));
        failed.Fail(traceback, "oom");
        var completed = Host.App.Producer.Start("eval", "dev", total: 1);
        completed.Complete(new Dictionary<string, object>
        {
            ["rows/s"] = 1234.5,
            ["path"] = path,
            ["a_field_name_much_longer_than_any_card_could_show_on_one_line"] = 1,
        });

        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 400, Height = 800 } });
        var tab = await DashboardPage.OpenAsync(context, Host.BaseUrl);
        var runningCard = tab.Locator($"li.card[data-process-id='{running.ProcessId}']");
        await Expect(runningCard.Locator(".detail")).ToHaveTextAsync($"shard 3 of 10: {path}");
        var failedCard = tab.Locator($"li.card[data-process-id='{failed.ProcessId}']");
        await Expect(failedCard.Locator(".badge")).ToHaveTextAsync("failed");
        var completedCard = tab.Locator($"li.card[data-process-id='{completed.ProcessId}']");
        await Expect(completedCard.Locator("table.result")).ToHaveCountAsync(1);
        await DashboardPage.SaveScreenshotAsync(tab, "dashboard-long-text-400.png", "long unbroken text at 400 px");

        int pageWidth = await tab.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.That(pageWidth, Is.LessThanOrEqualTo(400), "the page scrolls sideways");
        foreach (var card in new[] { runningCard, failedCard, completedCard })
        {
            var widths = await card.EvaluateAsync<int[]>("c => [c.scrollWidth, c.clientWidth]");
            Assert.That(widths[0], Is.LessThanOrEqualTo(widths[1]), $"something sticks out of {await card.GetAttributeAsync("data-process-id")}");
        }

        // The traceback: its start in the card, the whole in the tooltip.
        var error = failedCard.Locator(".outcome p");
        string shown = await error.TextContentAsync() ?? "";
        Assert.That(shown, Does.StartWith("Error: CUDA out of memory."));
        Assert.That(shown.Length, Is.LessThan(320), "the whole traceback is printed in the card");
        Assert.That(await error.GetAttributeAsync("title"), Is.EqualTo(traceback));

        // Field names stay on one line (cut, whole in the tooltip); the values wrap.
        foreach (var heading in await completedCard.Locator("table.result th").AllAsync())
        {
            int lines = await heading.EvaluateAsync<int>("th => { const r = document.createRange(); r.selectNodeContents(th); return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }");
            Assert.That(lines, Is.EqualTo(1), $"'{await heading.TextContentAsync()}' breaks across lines");
        }
        var longName = completedCard.Locator("table.result tbody th").Filter(new LocatorFilterOptions { HasText = "a_field_name" });
        Assert.That(await longName.GetAttributeAsync("title"), Is.EqualTo("a_field_name_much_longer_than_any_card_could_show_on_one_line"));
        await context.CloseAsync();
    }

    [TestCase(1280)]
    [TestCase(400)]
    public async Task The_cancel_button_stays_where_it_was_when_it_asks_for_confirmation_and_says_so_to_a_screen_reader(int width)
    {
        var process = Host.App.Producer.Start("a-type-name-long-enough-to-share-the-line", "dev", total: 3);
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = 800 } });
        var tab = await DashboardPage.OpenAsync(context, Host.BaseUrl);
        var cancel = tab.Locator($"li.card[data-process-id='{process.ProcessId}'] button.cancel");
        await Expect(cancel).ToHaveAttributeAsync("aria-label", $"Cancel a-type-name-long-enough-to-share-the-line ({process.ProcessId})");
        var before = await cancel.BoundingBoxAsync();

        await cancel.ClickAsync();
        await Expect(cancel).ToHaveTextAsync("Confirm cancel");
        await Expect(cancel).ToHaveAttributeAsync("aria-label", $"Confirm cancel of a-type-name-long-enough-to-share-the-line ({process.ProcessId})");
        var after = await cancel.BoundingBoxAsync();
        Assert.That((after!.X, after.Y, after.Width, after.Height), Is.EqualTo((before!.X, before.Y, before.Width, before.Height)),
            "the button moved or changed size between its two clicks");

        // A second click where the first landed confirms it.
        await tab.Mouse.ClickAsync(before.X + (before.Width / 2), before.Y + (before.Height / 2));
        await Expect(tab.Locator($"#ended li.card[data-process-id='{process.ProcessId}'] .badge")).ToHaveTextAsync("cancelled");
        await context.CloseAsync();
    }

    [Test]
    public async Task The_tab_title_says_the_state_and_a_screen_reader_hears_reconnecting_once_not_a_countdown()
    {
        Host.App.Producer.Start("eval", "dev", total: 3);
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, Host.BaseUrl);
        await Expect(tab).ToHaveTitleAsync("1 running · ProcessHub");

        await Host.StopAsync();
        await Expect(tab).ToHaveTitleAsync("Reconnecting… · ProcessHub");
        await Expect(tab.Locator("#conn-text")).ToHaveTextAsync("Reconnecting");
        await Expect(tab.Locator("#offline")).ToBeVisibleAsync();
        // What the eye sees counts down; what the status regions hold for a screen reader stays the same meanwhile.
        var countdown = tab.Locator("#conn-countdown");
        await Expect(countdown).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^( in \d+ s|…)$"));
        string seen = (await countdown.TextContentAsync())!;
        string heard = await tab.Locator("#conn").AriaSnapshotAsync() + await tab.Locator("#offline").AriaSnapshotAsync();
        await Expect(countdown).Not.ToHaveTextAsync(seen);
        Assert.That(await tab.Locator("#conn").AriaSnapshotAsync() + await tab.Locator("#offline").AriaSnapshotAsync(), Is.EqualTo(heard));
        Assert.That(heard, Does.Contain("Reconnecting").And.Contain("Connection lost"));

        await Host.RestartAsync();
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });
        await Expect(tab).Not.ToHaveTitleAsync(new System.Text.RegularExpressions.Regex("Reconnecting"));
        await context.CloseAsync();
    }

    [Test]
    public async Task A_cancel_from_the_keyboard_moves_the_focus_to_the_next_running_process()
    {
        var oldest = Host.App.Producer.Start("eval", "dev", total: 3);
        var middle = Host.App.Producer.Start("eval", "dev", total: 3);
        var newest = Host.App.Producer.Start("eval", "dev", total: 3);
        var context = await Browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, Host.BaseUrl);
        await Expect(tab.Locator("#running li.card")).ToHaveCountAsync(3);
        // The page's order (newest first; processes started within one clock tick keep the list's order).
        string[] order = await tab.Locator("#running li.card").EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.processId)");
        Assert.That(order, Is.EquivalentTo(new[] { newest.ProcessId, middle.ProcessId, oldest.ProcessId }));
        var handles = new[] { newest, middle, oldest }.ToDictionary(handle => handle.ProcessId);

        var secondCancel = tab.Locator($"li.card[data-process-id='{order[1]}'] button.cancel");
        await secondCancel.FocusAsync();
        await tab.Keyboard.PressAsync("Enter");
        await Expect(secondCancel).ToHaveTextAsync("Confirm cancel");
        await tab.Keyboard.PressAsync("Enter");
        await Expect(tab.Locator($"#ended li.card[data-process-id='{order[1]}'] .badge")).ToHaveTextAsync("cancelled");

        await Expect(tab.Locator($"li.card[data-process-id='{order[2]}'] button.cancel")).ToBeFocusedAsync();
        Assert.That(handles[order[2]].CancellationToken.IsCancellationRequested, Is.False);

        // The last running card's cancel: the focus goes back up to the one before it.
        await tab.Keyboard.PressAsync("Enter");
        await tab.Keyboard.PressAsync("Enter");
        await Expect(tab.Locator($"#ended li.card[data-process-id='{order[2]}'] .badge")).ToHaveTextAsync("cancelled");
        await Expect(tab.Locator($"li.card[data-process-id='{order[0]}'] button.cancel")).ToBeFocusedAsync();
        Assert.That(handles[order[0]].CancellationToken.IsCancellationRequested, Is.False);
        await context.CloseAsync();
    }
}
