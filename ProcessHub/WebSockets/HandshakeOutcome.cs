namespace ProcessHub.WebSockets;

internal enum HandshakeOutcome : byte
{
    Accepted,
    NotAnUpgrade,
    UnsupportedVersion,
    InvalidKey,
    OriginNotAllowed,
}
