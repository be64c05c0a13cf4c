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
        if (!IPAddress.TryParse(literal, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6 || address.ScopeId != 0)
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
        if (TryCanonicalIPv6(name.StartsWith('[') && name.EndsWith(']') ? name[1..^1] : name, out var canonical))
        {
            name = canonical;
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
