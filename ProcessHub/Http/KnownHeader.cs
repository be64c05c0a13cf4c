namespace ProcessHub.Http;

/// <summary>The headers ProcessHub reads; the parser records where each one's value sits in the head.</summary>
internal enum KnownHeader : byte
{
    Host,
    Connection,
    Upgrade,
    SecWebSocketKey,
    SecWebSocketVersion,
    Origin,
    Authorization,
    ContentLength,
    TransferEncoding,
    Accept,
    LastEventId,
    ContentType,
    IfNoneMatch,
    Expect,
    IdempotencyKey,
}
