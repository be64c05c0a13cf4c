using Microsoft.Playwright;
using NUnit.Framework;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// What the page's fixtures share: one headless Chromium for the fixture (starting it is the slow part) and a fresh
/// hub with the default options for every test, so that no test sees another's processes.
/// </summary>
public abstract class BrowserAndHubTests
{
    private IPlaywright _playwright = null!;

    private protected IBrowser Browser { get; private set; } = null!;

    private protected DashboardHost Host { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task LaunchBrowser()
    {
        (_playwright, var browser) = await BrowserFixture.LaunchAsync();
        Browser = browser;
    }

    [OneTimeTearDown]
    public async Task CloseBrowser()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }

    [SetUp]
    public void StartHub()
    {
        Host = new DashboardHost();
        Host.Start();
    }

    [TearDown]
    public async Task StopHub() => await Host.DisposeAsync();
}
