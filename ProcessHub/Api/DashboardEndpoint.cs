using System.Security.Cryptography;
using ProcessHub.Http;

namespace ProcessHub.Api;

/// <summary>
/// Serves the dashboard (<c>GET /</c>, <c>/app.css</c>, <c>/app.js</c>) from resources embedded in the binary: no build
/// step, nothing from the internet. Each file carries a strong ETag and <c>Cache-Control: no-cache</c>, so a
/// browser revalidates on every load and gets a 304 while the binary is unchanged.
/// </summary>
internal sealed class DashboardEndpoint
{
    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/app.css", "app.css", "text/css; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
    ];

    public static void MapTo(Router router)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            var content = Load(resource);
            string etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"";
            // If-None-Match is a list of tags compared weakly (RFC 9110 13.1.2): ours, its weak form, or "*" (any), each
            // byte for byte ("W/" included: 8.8.3), so a tag that differs from ours only in case is another tag.
            byte[] etagBytes = System.Text.Encoding.ASCII.GetBytes(etag);
            byte[] weakBytes = System.Text.Encoding.ASCII.GetBytes("W/" + etag);
            KeyValuePair<string, string>[] headers =
            [
                new("Cache-Control", "no-cache"),
                new("ETag", etag),
                new("X-Content-Type-Options", "nosniff"),
                // Never inside another site's frame: a page that framed it could steer clicks onto Cancel (and in dev
                // mode the framed page signs itself in). The header for older browsers, the CSP for current ones.
                new("X-Frame-Options", "DENY"),
                new("Content-Security-Policy", "frame-ancestors 'none'"),
            ];
            router.Map("GET", path, exchange =>
            {
                if (exchange.Request.HeaderHasExactItem(KnownHeader.IfNoneMatch, etagBytes)
                    || exchange.Request.HeaderHasExactItem(KnownHeader.IfNoneMatch, weakBytes)
                    || exchange.Request.HeaderHasExactItem(KnownHeader.IfNoneMatch, "*"u8))
                {
                    return exchange.RespondAsync(304, null, default, headers);
                }
                return exchange.RespondAsync(200, contentType, content, headers);
            });
        }
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
