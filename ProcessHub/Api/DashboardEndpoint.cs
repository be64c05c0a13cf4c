using ProcessHub.Http;

namespace ProcessHub.Api;

/// <summary>
/// Serves the dashboard (<c>GET /</c>, <c>/app.css</c>, <c>/app.js</c>) from resources embedded in the binary: no build
/// step, nothing from the internet. Each file carries a strong ETag and <c>Cache-Control: no-cache</c>, so a
/// browser revalidates on every load and gets a 304 while the binary is unchanged. The page says whether the hub
/// hands out dev tokens (its <c>processhub-dev-tokens</c> meta tag), so that a page of a hub not in dev mode never
/// asks <c>/api/dev-token</c> and meets its 404.
/// </summary>
internal sealed class DashboardEndpoint
{
    // The page itself ("/", index.html) is served in two forms, below; these are served as they are.
    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/app.css", "app.css", "text/css; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
    ];

    private static readonly byte[] DevTokensOff = """<meta name="processhub-dev-tokens" content="off">"""u8.ToArray();
    private static readonly byte[] DevTokensOn = """<meta name="processhub-dev-tokens" content="on">"""u8.ToArray();

    // The page as served without dev mode, then with it: each is its own file with its own ETag, so a browser that
    // kept the one revalidates into the other after a restart that changed the mode.
    private readonly ServedFile _pageWithoutDevTokens;
    private readonly ServedFile _pageWithDevTokens;
    private volatile bool _devTokens;

    public DashboardEndpoint()
    {
        byte[] page = Load("index.html");
        const string Html = "text/html; charset=utf-8";
        _pageWithoutDevTokens = new ServedFile(page, Html);
        _pageWithDevTokens = new ServedFile(WithDevTokens(page), Html);
    }

    /// <summary>From now on the page tells the dashboard to sign itself in with <c>/api/dev-token</c>.</summary>
    public void AnnounceDevTokens() => _devTokens = true;

    public void MapTo(Router router)
    {
        router.Map("GET", "/", exchange => (_devTokens ? _pageWithDevTokens : _pageWithoutDevTokens).ServeAsync(exchange));
        foreach (var (path, resource, contentType) in Files)
        {
            var file = new ServedFile(Load(resource), contentType);
            router.Map("GET", path, file.ServeAsync);
        }
    }

    private static byte[] WithDevTokens(byte[] page)
    {
        int at = page.AsSpan().IndexOf(DevTokensOff);
        if (at < 0)
        {
            throw new InvalidOperationException("dashboard index.html lacks its processhub-dev-tokens meta tag");
        }
        return [.. page.AsSpan(0, at), .. DevTokensOn, .. page.AsSpan(at + DevTokensOff.Length)];
    }

    private static byte[] Load(string name)
    {
        using var stream = typeof(DashboardEndpoint).Assembly.GetManifestResourceStream($"ProcessHub.Dashboard.{name}")
            ?? throw new InvalidOperationException($"dashboard resource {name} is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
