using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Http;

/// <summary>
/// The host names a server answers to (<see cref="Server.ServerOptions.AllowedHosts"/>), the defence against DNS
/// rebinding that Vite and webpack-dev-server call <c>allowedHosts</c>: a page whose own name was made to resolve to
/// 127.0.0.1 still sends that name as Host, and is refused. The port is not compared, case is not significant, and
/// one trailing dot (the fully qualified form) is ignored. Empty allows every Host; otherwise a request without a
/// usable Host is refused too.
/// </summary>
internal sealed class HostAllowList
{
    /// <summary>The names every loopback client may use; a rebinding page cannot send them (its Host is its own name).</summary>
    public static readonly IReadOnlyList<string> LoopbackNames = ["localhost", "127.0.0.1", "[::1]"];

    private readonly string[] _names;

    public HostAllowList(IReadOnlyList<string> names) => _names = [.. names];

    public bool AllowsAnyHost => _names.Length == 0;

    public bool Allows(HttpRequest request)
    {
        if (_names.Length == 0)
        {
            return true;
        }
        if (!request.HasHeader(KnownHeader.Host) || !HostHeader.TryGetHost(request.Header(KnownHeader.Host), out var host))
        {
            return false;
        }
        if (host.Length > 1 && host[^1] == (byte)'.')
        {
            host = host[..^1];
        }
        foreach (var name in _names)
        {
            if (Ascii.EqualsIgnoreCase(host, name))
            {
                return true;
            }
        }
        // An IPv6 address has many spellings ([0:0:0:0:0:0:0:1] is [::1]); the names are kept in the canonical one.
        return host.Length > 2 && host[0] == (byte)'[' && TryCanonicalIPv6(Encoding.ASCII.GetString(host[1..^1]), out var canonical)
            && !Ascii.Equals(host, canonical) && _names.Contains(canonical, StringComparer.OrdinalIgnoreCase);
    }

    private static bool TryCanonicalIPv6(string literal, out string canonical)
    {
        canonical = "";
        // IPAddress.TryParse also takes "[::1]:8501" (and drops the port): only a bare literal is an address here.
        if (literal.AsSpan().IndexOfAny('[', ']') >= 0 || !IPAddress.TryParse(literal, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6 || address.ScopeId != 0)
        {
            return false;
        }
        canonical = "[" + address + "]";
        return true;
    }

    /// <summary>
    /// Reads a configured name: a host name, an IPv4 address, or an IPv6 address with or without brackets (stored
    /// with them, as Host carries it). No port, scheme or path. False with a reason for anything else.
    /// </summary>
    public static bool TryNormalize(string value, out string name, out string? problem)
    {
        name = value.Trim();
        problem = null;
        string literal = name.StartsWith('[') && name.EndsWith(']') ? name[1..^1] : name;
        if (TryCanonicalIPv6(literal, out var canonical))
        {
            name = canonical;
        }
        else if (literal.AsSpan().IndexOfAny('[', ']') < 0 && literal.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(literal, out var scoped)
            && scoped.AddressFamily == AddressFamily.InterNetworkV6)
        {
            name = "[" + literal + "]"; // an address with a scope (fe80::1%eth0): kept as given, in brackets as Host has it
        }
        if (name.Length > 1 && name[^1] == '.')
        {
            name = name[..^1];
        }
        if (name.Length == 0 || !Ascii.IsValid(name) || !HostHeader.TryGetHost(Encoding.ASCII.GetBytes(name), out var host) || host.Length != name.Length)
        {
            problem = $"'{value}' is not a host name or address (no scheme, port or path)";
            return false;
        }
        return true;
    }
}
