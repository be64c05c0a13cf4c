using NUnit.Framework;
using Microsoft.Playwright;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// Headless Chromium from Debian's package (Playwright's own browser download cannot work here), one browser per
/// test class. <c>./run.sh test</c> installs the package when it is missing.
/// </summary>
internal static class BrowserFixture
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Fail($"{ChromiumPath} is missing: ./run.sh test installs Debian's chromium package");
        }
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"],
        });
        // A loaded 2-core machine renders slowly: wait generously for what must happen, never for a fixed time.
        Assertions.SetDefaultExpectTimeout(20_000);
        return (playwright, browser);
    }
}
