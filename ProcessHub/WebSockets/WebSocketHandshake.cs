using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using ProcessHub.Http;

namespace ProcessHub.WebSockets;

/// <summary>The server's opening handshake (RFC 6455 4.2).</summary>
internal static class WebSocketHandshake
{
    // RFC 6455 1.3: the GUID appended to the client's key before hashing.
    private static ReadOnlySpan<byte> KeyGuid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>RFC 6455 4.2.1: checks the client's upgrade request.</summary>
    public static HandshakeOutcome Validate(HttpRequest request, IReadOnlyCollection<string> allowedOrigins)
    {
        // RFC 6455 4.2.1 asks for HTTP/1.1 or higher; RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored.
        if (!request.IsHttp11 || !request.HeaderHasToken(KnownHeader.Upgrade, "websocket"u8) || !request.HeaderHasToken(KnownHeader.Connection, "upgrade"u8))
        {
            return HandshakeOutcome.NotAnUpgrade;
        }
        // RFC 6455 4.1 gives the handshake no body, and the hub does not read one: the bytes after the head are the
        // first frames. A declared body would be read as frames, where every other route reads it as a body (RFC 9112
        // 6.3): two readings of where the request ends, which is how requests get past a proxy (docs/protocol.md 1.2).
        if (request.HasBody)
        {
            return HandshakeOutcome.HasBody;
        }
        if (!request.Header(KnownHeader.SecWebSocketVersion).SequenceEqual("13"u8))
        {
            return HandshakeOutcome.UnsupportedVersion;
        }
        if (!IsValidKey(request.Header(KnownHeader.SecWebSocketKey)))
        {
            return HandshakeOutcome.InvalidKey;
        }
        // RFC 6455 10.2: Origin guards against cross-site use from browsers; clients without one are not browsers.
        if (allowedOrigins.Count > 0 && request.HasHeader(KnownHeader.Origin) && !IsAllowed(request.Header(KnownHeader.Origin), allowedOrigins))
        {
            return HandshakeOutcome.OriginNotAllowed;
        }
        return HandshakeOutcome.Accepted;
    }

    /// <summary>The key must be the base64 form of exactly 16 bytes (RFC 6455 4.1, item 7).</summary>
    public static bool IsValidKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != 24)
        {
            return false;
        }
        Span<byte> decoded = stackalloc byte[18];
        return Base64.DecodeFromUtf8(key, decoded, out _, out int written) == System.Buffers.OperationStatus.Done && written == 16;
    }

    /// <summary>Writes the 101 response into <paramref name="destination"/>; returns its length.</summary>
    public static int WriteAcceptResponse(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        ReadOnlySpan<byte> prefix = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "u8;
        prefix.CopyTo(destination);
        int length = prefix.Length;
        length += ComputeAccept(key, destination[length..]);
        "\r\n\r\n"u8.CopyTo(destination[length..]);
        return length + 4;
    }

    /// <summary>Sec-WebSocket-Accept = base64(SHA-1(key + GUID)), computed on the stack.</summary>
    public static int ComputeAccept(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[24 + 36];
        key.CopyTo(input);
        KeyGuid.CopyTo(input[key.Length..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input[..(key.Length + KeyGuid.Length)], hash);
        Base64.EncodeToUtf8(hash, destination, out _, out int written);
        return written;
    }

    /// <summary>The 101 response size bound: fixed text, a 28-byte accept value, the blank line.</summary>
    public const int MaxAcceptResponseLength = 160;

    private static bool IsAllowed(ReadOnlySpan<byte> origin, IReadOnlyCollection<string> allowedOrigins)
    {
        string value = Encoding.ASCII.GetString(origin);
        foreach (var allowed in allowedOrigins)
        {
            if (string.Equals(allowed, value, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
