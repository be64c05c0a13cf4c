namespace ProcessHub.Http;

/// <summary>The names of the headers the hub reads, as the RFCs write them: for messages that name one.</summary>
internal static class KnownHeaderNames
{
    public static string Of(KnownHeader header) => header switch
    {
        KnownHeader.Host => "Host",
        KnownHeader.Connection => "Connection",
        KnownHeader.Upgrade => "Upgrade",
        KnownHeader.SecWebSocketKey => "Sec-WebSocket-Key",
        KnownHeader.SecWebSocketVersion => "Sec-WebSocket-Version",
        KnownHeader.Origin => "Origin",
        KnownHeader.Authorization => "Authorization",
        KnownHeader.ContentLength => "Content-Length",
        KnownHeader.TransferEncoding => "Transfer-Encoding",
        KnownHeader.Accept => "Accept",
        KnownHeader.LastEventId => "Last-Event-ID",
        KnownHeader.ContentType => "Content-Type",
        KnownHeader.IfNoneMatch => "If-None-Match",
        KnownHeader.Expect => "Expect",
        KnownHeader.IdempotencyKey => "Idempotency-Key",
        _ => header.ToString(),
    };
}
