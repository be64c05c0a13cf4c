namespace ProcessHub.Client.Internal;

/// <summary>
/// A hub URL as it may be printed: a <c>token</c> in its query (the form the hub's dev banner prints) becomes
/// <c>token=***</c>, so a message, an exception or a log line never carries a credential (docs/protocol.md decision 60).
/// </summary>
internal static class SafeUrl
{
    public static string Of(Uri url)
    {
        if (url.Query.Length <= 1)
        {
            return url.ToString();
        }
        var query = url.Query[1..].Split('&').Select(pair => pair.StartsWith("token=", StringComparison.OrdinalIgnoreCase) ? "token=***" : pair);
        return new UriBuilder(url) { Query = string.Join('&', query) }.Uri.ToString();
    }
}
