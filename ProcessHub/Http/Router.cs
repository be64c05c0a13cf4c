namespace ProcessHub.Http;

/// <summary>
/// A small method-and-path router. Patterns are literal segments and <c>{name}</c> placeholders
/// (<c>/api/processes/{id}/progress</c>). A path that exists under another method is a 405 with Allow.
/// </summary>
internal sealed class Router
{
    private static readonly IReadOnlyDictionary<string, string> NoValues = new Dictionary<string, string>();
    private readonly List<(string Method, string[] Segments, RouteHandler Handler, bool Pipelined)> _routes = [];

    /// <param name="pipelined">
    /// The handler puts its change in the hub's order before anything else it reads could be changed by the requests
    /// before it on the connection: it may be served while they still wait for the store (RFC 9112 9.3.2, pipelining;
    /// see <see cref="HttpExchange.MarkOrdered"/>). Reads (a GET) are not: they would miss the earlier writes.
    /// </param>
    public Router Map(string method, string pattern, RouteHandler handler, bool pipelined = false)
    {
        _routes.Add((method, Split(pattern), handler, pipelined));
        return this;
    }

    public RouteMatch Match(string method, string path)
    {
        var segments = Split(path);
        List<string>? allowed = null;
        foreach (var (routeMethod, pattern, handler, pipelined) in _routes)
        {
            if (!TryMatch(pattern, segments, out var values))
            {
                continue;
            }
            if (string.Equals(routeMethod, method, StringComparison.Ordinal)
                || (method == "HEAD" && routeMethod == "GET"))
            {
                return new RouteMatch(handler, values ?? NoValues, true, null, pipelined && method != "HEAD");
            }
            (allowed ??= []).Add(routeMethod);
            if (routeMethod == "GET")
            {
                allowed.Add("HEAD"); // every GET route takes HEAD too (RFC 9110 9.3.2), and Allow lists what the path takes
            }
        }
        return allowed is null
            ? new RouteMatch(null, NoValues, false, null, false)
            : new RouteMatch(null, NoValues, true, string.Join(", ", allowed.Distinct()), false);
    }

    private static bool TryMatch(string[] pattern, string[] segments, out Dictionary<string, string>? values)
    {
        values = null;
        if (pattern.Length != segments.Length)
        {
            return false;
        }
        for (int i = 0; i < pattern.Length; i++)
        {
            var part = pattern[i];
            if (part.Length > 2 && part[0] == '{' && part[^1] == '}')
            {
                if (segments[i].Length == 0)
                {
                    return false;
                }
                (values ??= [])[part[1..^1]] = Uri.UnescapeDataString(segments[i]);
            }
            else if (!string.Equals(part, segments[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    // Matches no route: no segment of a pattern is "/".
    private static readonly string[] Unroutable = ["/"];

    // The path's one leading '/' and any trailing ones go. A path that starts with "//" routes nowhere ("//", "///" and
    // "//api/processes" are 404): a reference that starts with "//" names a host, and a proxy that resolves it would
    // send it elsewhere than the route it looks like.
    private static string[] Split(string path)
    {
        string rest = path.Length > 0 && path[0] == '/' ? path[1..] : path;
        return rest.StartsWith('/') ? Unroutable : rest.TrimEnd('/').Split('/');
    }
}
