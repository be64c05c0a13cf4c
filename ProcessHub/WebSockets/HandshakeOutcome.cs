namespace ProcessHub.WebSockets;

internal enum HandshakeOutcome : byte
{
    Accepted,
    NotAnUpgrade,
    UnsupportedVersion,
    InvalidKey,
    OriginNotAllowed,

    /// <summary>The request declares a body (Content-Length above 0, or chunked): a handshake has none.</summary>
    HasBody,
}
