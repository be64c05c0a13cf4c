namespace ProcessHub.WebSockets;

/// <summary>
/// An entry of <c>--allowed-origin</c>, checked when the hub starts: a browser's <c>Origin</c> is
/// <c>scheme://host[:port]</c> and nothing else (RFC 6454 6.1), so an entry with a path, a trailing slash or a
/// wildcard never matched any request, and the dashboard of that origin was refused with 403 while the hub ran as
/// if configured. Entries are kept as a browser serializes them: the host in lower case, the scheme's default port
/// left out.
/// </summary>
internal static class AllowedOrigin
{
    public static bool TryNormalize(string value, out string origin, out string? problem)
    {
        origin = "";
        problem = $"'{value}' is not an origin: write scheme://host[:port] with nothing after it, as a browser sends it "
            + "(e.g. https://hub.example.com), or leave the option out to allow any origin";
        int schemeEnd = value.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0 || value.AsSpan(schemeEnd + 3).IndexOfAny("/?#@\\") >= 0
            || !Uri.TryCreate(value, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0)
        {
            return false;
        }
        origin = uri.GetLeftPart(UriPartial.Authority);
        problem = null;
        return true;
    }
}
