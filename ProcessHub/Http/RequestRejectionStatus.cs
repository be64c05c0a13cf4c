namespace ProcessHub.Http;

/// <summary>The one place a rejection becomes a status code and a message.</summary>
internal static class RequestRejectionStatus
{
    public static int ToStatusCode(RequestRejection rejection) => rejection switch
    {
        RequestRejection.HeadTooLarge => 431,
        RequestRejection.UnsupportedHttpVersion => 505,
        RequestRejection.UnsupportedTransferCoding => 501,
        RequestRejection.UnsupportedExpectation => 417,
        RequestRejection.TrailersTooLarge => 431,
        RequestRejection.BodyTooLarge => 413,
        _ => 400,
    };

    public static string ToMessage(RequestRejection rejection) => rejection switch
    {
        RequestRejection.InvalidRequestLine => "malformed request line",
        RequestRejection.InvalidRequestTarget => "malformed request target",
        RequestRejection.UnsupportedHttpVersion => "only HTTP/1.1 and HTTP/1.0 are supported",
        RequestRejection.InvalidHeaderLine => "malformed header line",
        RequestRejection.HeadTooLarge => "request head too large",
        RequestRejection.MissingHost => "HTTP/1.1 requires a Host header",
        RequestRejection.DuplicateHost => "more than one Host header",
        RequestRejection.RepeatedHeader => "a header the server reads appears more than once (Sec-WebSocket-Key, Authorization, Origin...): send it once",
        RequestRejection.InvalidHost => "invalid Host header",
        RequestRejection.BareLineEnding => "lines must end with CRLF",
        RequestRejection.InvalidContentLength => "invalid Content-Length",
        RequestRejection.InvalidTransferEncoding => "Transfer-Encoding must be chunked, once, and chunked must come last (HTTP/1.1 only)",
        RequestRejection.UnsupportedTransferCoding => "only the chunked transfer coding is supported",
        RequestRejection.TransferEncodingWithContentLength => "Content-Length and Transfer-Encoding together",
        RequestRejection.UnsupportedExpectation => "only Expect: 100-continue is supported",
        RequestRejection.InvalidChunkedBody => "malformed chunked body",
        RequestRejection.TrailersTooLarge => "request trailer section too large",
        RequestRejection.BodyTooLarge => "request body too large",
        _ => "bad request",
    };

    /// <summary>The repeated header named: the list of every header the hub reads left the client to find which.</summary>
    public static string RepeatedHeaderMessage(KnownHeader header) =>
        $"the {KnownHeaderNames.Of(header)} header appears more than once: send it once";
}
