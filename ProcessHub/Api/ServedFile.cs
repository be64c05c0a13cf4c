using System.Security.Cryptography;
using ProcessHub.Http;

namespace ProcessHub.Api;

/// <summary>
/// One of the dashboard's files as served: its bytes, a strong ETag over them, and the headers every answer carries.
/// <c>Cache-Control: no-cache</c> makes a browser revalidate on every load, which costs a 304 while the file is the same.
/// </summary>
internal sealed class ServedFile
{
    private readonly byte[] _content;
    private readonly string _contentType;
    private readonly byte[] _etag;
    private readonly byte[] _weakEtag;
    private readonly KeyValuePair<string, string>[] _headers;

    public ServedFile(byte[] content, string contentType)
    {
        _content = content;
        _contentType = contentType;
        string etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"";
        _etag = System.Text.Encoding.ASCII.GetBytes(etag);
        _weakEtag = System.Text.Encoding.ASCII.GetBytes("W/" + etag);
        _headers =
        [
            new("Cache-Control", "no-cache"),
            new("ETag", etag),
            new("X-Content-Type-Options", "nosniff"),
            // Never inside another site's frame: a page that framed it could steer clicks onto Cancel (and in dev
            // mode the framed page signs itself in). The header for older browsers, the CSP for current ones.
            new("X-Frame-Options", "DENY"),
            new("Content-Security-Policy", "frame-ancestors 'none'"),
        ];
    }

    public ValueTask ServeAsync(HttpExchange exchange)
    {
        // If-None-Match is a list of tags compared weakly (RFC 9110 13.1.2): ours, its weak form, or "*" (any), each
        // byte for byte ("W/" included: 8.8.3), so a tag that differs from ours only in case is another tag.
        if (exchange.Request.HeaderHasExactItem(KnownHeader.IfNoneMatch, _etag)
            || exchange.Request.HeaderHasExactItem(KnownHeader.IfNoneMatch, _weakEtag)
            || exchange.Request.HeaderHasExactItem(KnownHeader.IfNoneMatch, "*"u8))
        {
            return exchange.RespondAsync(304, null, default, _headers);
        }
        return exchange.RespondAsync(200, _contentType, _content, _headers);
    }
}
