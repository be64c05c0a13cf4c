namespace ProcessHub.Http;

/// <summary>
/// The <c>Retry-After</c> header of every answer that asks a client to come back shortly (429 and 503, docs/protocol.md
/// section 1): one second, made once.
/// </summary>
internal static class RetryAfterHeader
{
    public static readonly KeyValuePair<string, string>[] OneSecond = [new("Retry-After", "1")];
}
