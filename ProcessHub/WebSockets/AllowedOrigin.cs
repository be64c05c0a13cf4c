namespace ProcessHub.WebSockets;

/// <summary>
/// An entry of <c>--allowed-origin</c>, checked when the hub starts: a browser's <c>Origin</c> is
/// <c>scheme://host[:port]</c> and nothing else (RFC 6454 6.1), or <c>null</c>, so an entry with a path, a trailing
/// slash or a wildcard never matched any request, and the dashboard of that origin was refused with 403 while the hub
/// ran as if configured. Any scheme is taken (an extension's <c>chrome-extension://id</c>, a webview's
/// <c>tauri://localhost</c>). Entries are kept as a browser serializes its origin: the scheme and host in lower case,
/// an international host in its ASCII (punycode) form, the scheme's default port left out.
/// </summary>
internal static class AllowedOrigin
{
    /// <summary>The origin of a sandboxed frame or a file:// page: any such page sends it, so allowing it allows them all.</summary>
    public const string Opaque = "null";

    public static bool TryNormalize(string value, out string origin, out string? problem)
    {
        origin = "";
        problem = $"'{value}' is not an origin: write scheme://host[:port] with nothing after it, as a browser sends it "
            + "(e.g. https://hub.example.com), or leave the option out to allow any origin";
        if (value == Opaque)
        {
            origin = Opaque;
            problem = null;
            return true;
        }
        int schemeEnd = value.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0 || !Uri.CheckSchemeName(value[..schemeEnd]) || value.AsSpan(schemeEnd + 3).IndexOfAny("/?#@\\") >= 0
            || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.IdnHost.Length == 0)
        {
            return false;
        }
        string host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        origin = uri.IsDefaultPort || uri.Port < 0 ? $"{uri.Scheme}://{host}" : $"{uri.Scheme}://{host}:{uri.Port}";
        problem = null;
        return true;
    }
}
