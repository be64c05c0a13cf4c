using System.Buffers;

namespace ProcessHub.Http;

/// <summary>
/// The Host field (RFC 9112 3.2): <c>uri-host [ ":" port ]</c> with RFC 3986 3.2.2's host forms (a registered name,
/// an IPv4 address, an IP literal in brackets). A value that is none of these is a 400, and the host part is what
/// the allowed-hosts check compares.
/// </summary>
internal static class HostHeader
{
    // RFC 3986: reg-name = *( unreserved / pct-encoded / sub-delims ), which covers IPv4address too.
    private static readonly SearchValues<byte> NameChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%"u8);

    // Inside brackets: IPv6address, a zone id ("%25eth0", RFC 6874) or IPvFuture ("v1.x"); the same set plus ':'.
    private static readonly SearchValues<byte> LiteralChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%:"u8);

    /// <summary>
    /// Splits a Host value into its host (brackets kept for an IP literal) and checks the whole form; false for a
    /// value that is not a host. An empty value is valid (RFC 9112 3.2: a URI without authority).
    /// </summary>
    public static bool TryGetHost(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> host)
    {
        ReadOnlySpan<byte> rest;
        if (!value.IsEmpty && value[0] == (byte)'[')
        {
            int close = value.IndexOf((byte)']');
            host = close < 0 ? default : value[..(close + 1)];
            if (close < 2 || value[1..close].ContainsAnyExcept(LiteralChars))
            {
                return false;
            }
            rest = value[(close + 1)..];
        }
        else
        {
            int colon = value.IndexOf((byte)':');
            host = colon < 0 ? value : value[..colon];
            if (host.ContainsAnyExcept(NameChars))
            {
                return false;
            }
            rest = colon < 0 ? default : value[colon..];
        }
        if (rest.IsEmpty)
        {
            return true;
        }
        // port = *DIGIT (RFC 3986 3.2.3; may be empty), and no port is past 65535.
        var port = rest[1..];
        return rest[0] == (byte)':' && port.Length <= 5 && !port.ContainsAnyExceptInRange((byte)'0', (byte)'9')
            && (port.IsEmpty || int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) <= ushort.MaxValue);
    }
}
