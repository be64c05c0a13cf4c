using Microsoft.Playwright;
using NUnit.Framework;
using ProcessHub.Auth;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// A dev-mode tab whose token is refused (4401): docs/protocol.md 2.7. Dev tokens live a day and die with the run; a
/// tab whose token expires while it is open (the hub closes it with 4401 "token expired") fetches a fresh one and
/// reconnects. It does so once: a fresh token refused too (hubs with different secrets behind one address) asks the
/// person instead of looping.
/// </summary>
[TestFixture]
[Category("browser")]
[NonParallelizable]
public sealed class DevTokenDashboardTests
{
    private const string OtherSecret = "another-runs-secret-0123456789-abcdefghijklm";

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
    public async Task A_dev_tab_whose_token_expires_while_open_signs_in_again_with_a_fresh_token()
    {
        // The banner's token, handed out until it expires (instead of an hour before), lives 15 s here, not 24 h: long
        // enough for the page to load and take it on a slow machine (exp is in whole seconds).
        string shortLived = new TokenValidator(new JwtSettings { Secret = DashboardHost.Secret }).Issue("dev", [], TimeSpan.FromSeconds(15));
        await using var host = new DashboardHost { DevToken = shortLived, DevTokenFreshFor = TimeSpan.Zero };
        host.Start();
        var context = await _browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        var firstClose = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        tab.WebSocket += (_, socket) => socket.Close += (_, _) => firstClose.TrySetResult(socket.Url);
        await tab.GotoAsync(host.BaseUrl);

        // The hub closes the tab's connection with 4401 "token expired" when the token runs out (2.6).
        await firstClose.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var run = host.App.Producer.Start("eval", "dev", total: 3);

        await Expect(tab.Locator($"li.card[data-process-id='{run.ProcessId}']")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
        await Expect(tab.Locator("#signin")).ToBeHiddenAsync();
        await Expect(tab.Locator("#who")).ToHaveTextAsync("Dev mode, signed in as dev");
        await context.CloseAsync();
    }

    [Test]
    public async Task A_fresh_dev_token_refused_as_well_asks_for_a_token_instead_of_retrying_for_ever()
    {
        // The dev-token endpoint hands out a token another run signed: every token the tab can get is refused.
        string foreign = new TokenValidator(new JwtSettings { Secret = OtherSecret }).Issue("dev", [], TimeSpan.FromHours(24));
        await using var host = new DashboardHost { DevToken = foreign };
        host.Start();
        var context = await _browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        int devTokenFetches = 0;
        tab.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath == "/api/dev-token") Interlocked.Increment(ref devTokenFetches);
        };
        await tab.GotoAsync(host.BaseUrl);

        await Expect(tab.Locator("#signin")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(tab.Locator("#signin-reason")).ToHaveTextAsync("Signed out: invalid token. Paste a fresh token.");
        await Expect(tab.Locator("#who")).ToHaveTextAsync(""); // never signed in: not "Dev mode, signed in as dev"
        Assert.That(Volatile.Read(ref devTokenFetches), Is.EqualTo(2), "the first token and one fresh one, then the person is asked");
        await context.CloseAsync();
    }

    [Test]
    public async Task A_pasted_token_from_an_earlier_run_is_refused_and_the_dev_token_is_offered_not_taken()
    {
        await using var host = new DashboardHost();
        host.Start();
        var (context, tab) = await OpenWithTokenOfAnEarlierRunAsync(host);

        await Expect(tab.Locator("#signin-reason")).ToHaveTextAsync("Signed out: invalid token. Paste a fresh token.");
        // Offered, not taken: the pasted token was alice's, the dev token is dev's.
        await Expect(tab.Locator("#signin-dev-button")).ToHaveTextAsync("Sign in as dev with a dev token");
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "signed-out");

        await tab.ClickAsync("#signin-dev-button");
        await Expect(tab.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
        await Expect(tab.Locator("#who")).ToHaveTextAsync("Dev mode, signed in as dev");
        await Expect(tab.Locator("#signin")).ToBeHiddenAsync();
        await context.CloseAsync();
    }

    [Test]
    public async Task A_hub_not_in_dev_mode_offers_no_dev_token_when_a_pasted_token_is_refused()
    {
        await using var host = new DashboardHost { DevMode = false };
        host.Start();
        var (context, tab) = await OpenWithTokenOfAnEarlierRunAsync(host);

        await Expect(tab.Locator("#signin-reason")).ToHaveTextAsync("Signed out: invalid token. Paste a fresh token.");
        // Once refused, the page decides on the offer: none, since the page says that the hub hands out no dev tokens.
        await Expect(tab.Locator("#signin-dev")).ToHaveAttributeAsync("data-asked", "true");
        await Expect(tab.Locator("#signin-dev")).ToBeHiddenAsync();
        await context.CloseAsync();
    }

    [Test]
    public async Task A_hub_not_in_dev_mode_is_never_asked_for_a_dev_token_and_the_page_asks_for_one()
    {
        await using var host = new DashboardHost { DevMode = false };
        host.Start();
        var context = await _browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        var asked = new List<string>();
        tab.Request += (_, request) =>
        {
            lock (asked) asked.Add(new Uri(request.Url).AbsolutePath);
        };
        await tab.GotoAsync(host.BaseUrl);

        await Expect(tab.Locator("#signin")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(tab.Locator("#signin-reason")).ToHaveTextAsync("Paste an access token to see your processes.");
        // The sign-in form shows only once the page has decided how to sign in, so every request it made is in.
        lock (asked) Assert.That(asked, Does.Not.Contain("/api/dev-token"), string.Join(", ", asked));
        await context.CloseAsync();
    }

    /// <summary>A tab holding a token pasted for alice before the hub restarted: dev tokens are signed with a key of
    /// one run, so the hub refuses it now.</summary>
    private async Task<(IBrowserContext, IPage)> OpenWithTokenOfAnEarlierRunAsync(DashboardHost host)
    {
        string earlierRun = new TokenValidator(new JwtSettings { Secret = OtherSecret }).Issue("alice", [], TimeSpan.FromHours(24));
        var context = await _browser.NewContextAsync();
        await context.AddInitScriptAsync($"sessionStorage.setItem('processhub.token', '{earlierRun}');");
        var tab = await context.NewPageAsync();
        await tab.GotoAsync(host.BaseUrl);
        return (context, tab);
    }
}
