using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace ProcessHub.Tests.Browser;

/// <summary>Opening the dashboard in a tab, and keeping screenshots of it with the test's results.</summary>
internal static class DashboardPage
{
    /// <summary>A new tab on the dashboard (<paramref name="query"/> e.g. <c>?user=alice</c>), once it is live.</summary>
    public static async Task<IPage> OpenAsync(IBrowserContext context, string baseUrl, string query = "")
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(baseUrl + query);
        await Expect(page.Locator("#conn")).ToHaveAttributeAsync("data-state", "open");
        return page;
    }

    /// <summary>Saves a full-page screenshot under the test's work directory and attaches it to the result.</summary>
    public static async Task<string> SaveScreenshotAsync(IPage page, string name, string description)
    {
        string directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "test-artifacts");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.AddTestAttachment(path, description);
        return path;
    }
}
