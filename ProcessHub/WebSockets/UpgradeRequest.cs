using System.Net;

namespace ProcessHub.WebSockets;

/// <summary>
/// What a handler may want from the upgrade request, copied out before the head buffer is reused, and the 101
/// response (<c>Handshake</c>) still to be sent: the connection's first send carries it with the first frames.
/// </summary>
internal sealed record UpgradeRequest(string? QueryToken, string? Authorization, string? Origin, EndPoint? RemoteEndPoint, byte[]? Handshake = null);
