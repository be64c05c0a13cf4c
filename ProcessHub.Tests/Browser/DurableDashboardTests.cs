using Microsoft.Playwright;
using NUnit.Framework;
using ProcessHub.Tests.Storage;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// The page across a restart of a hub with the durable store (docs/protocol.md section 10.4): the same epoch, so it
/// is a reconnect, not a new hub: a process driven over HTTP is still running and keeps moving, and a run whose
/// producer lived in the old hub shows how it ended.
/// </summary>
[TestFixture]
[Category("browser")]
[NonParallelizable]
public sealed class DurableDashboardTests
{
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    [OneTimeSetUp]
    public async Task LaunchBrowser() => (_playwright, _browser) = await BrowserFixture.LaunchAsync();

    [OneTimeTearDown]
    public async Task CloseBrowser()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    [Test]
    public async Task After_a_restart_a_running_process_is_still_on_the_page_and_keeps_moving()
    {
        using var data = new DataDirectory();
        await using var host = new DashboardHost(dataDirectory: data.Path);
        host.Start();
        var worker = (await host.App.Engine.StartAsync(new ProcessStart("export", "dev", null, ProgressJson.Create(0, 4, null, null), InProcess: false))).ProcessId;
        await host.App.Engine.ApplyAsync(worker, ProcessChange.Progress(ProgressJson.Create(1, 4, null, "shard 1")));
        var runner = await host.App.Producer.StartAsync("benchmark", "dev", total: 6, parameters: new { models = new[] { "GPT-4o" }, contexts = new[] { "1K" }, runs = 6 });
        await runner.ReportProgressAsync(2, 6, "GPT-4o", "Run 2/6, Context 1K");

        var context = await _browser.NewContextAsync();
        var tab = await DashboardPage.OpenAsync(context, host.BaseUrl);
        var card = tab.Locator($"li.card[data-process-id='{worker}']");
        await Expect(card.Locator(".counts")).ToHaveTextAsync("1 / 4 · 25%");

        await host.RestartAsync();
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 60_000 });
        await Expect(tab.Locator("#notice-title")).ToHaveTextAsync("Reconnected", new() { Timeout = 30_000 });
        var running = tab.Locator($"#running li.card[data-process-id='{worker}']");
        await Expect(running).ToHaveAttributeAsync("data-stale", "false");
        await Expect(running.Locator(".cancel")).ToBeEnabledAsync();
        var ended = tab.Locator($"#ended li.card[data-process-id='{runner.ProcessId}']");
        await Expect(ended.Locator(".badge")).ToHaveTextAsync("failed");

        // The worker reports again to the restarted hub, and the page moves with it.
        await host.App.Engine.ApplyAsync(worker, ProcessChange.Progress(ProgressJson.Create(2, 4, null, "shard 2")));
        await Expect(running.Locator(".counts")).ToHaveTextAsync("2 / 4 · 50%");
        await context.CloseAsync();
    }
}
