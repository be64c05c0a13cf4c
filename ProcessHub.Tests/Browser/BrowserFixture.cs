using NUnit.Framework;
using Microsoft.Playwright;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// Headless Chromium from Debian's package (Playwright's own browser download cannot work here), one browser per
/// test class. <c>./run.sh test</c> installs the package when it is missing; without it the tests are skipped on a
/// developer's machine and fail on CI (<see cref="RequiredTools"/>).
/// </summary>
internal static class BrowserFixture
{
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        RequiredTools.Chromium();
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = RequiredTools.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"],
        });
        // A loaded 2-core machine renders slowly: wait generously for what must happen, never for a fixed time.
        Assertions.SetDefaultExpectTimeout(20_000);
        return (playwright, browser);
    }
}
