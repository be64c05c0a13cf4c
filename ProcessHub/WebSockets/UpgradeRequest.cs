using System.Net;

namespace ProcessHub.WebSockets;

/// <summary>What a handler may want from the upgrade request, copied out before the head buffer is reused.</summary>
internal sealed record UpgradeRequest(string? QueryToken, string? Authorization, string? Origin, EndPoint? RemoteEndPoint);
