namespace ProcessHub.Tests.Infrastructure;

/// <summary>A response as read off a raw socket: the status line, the headers in order (names as sent), the body.</summary>
internal sealed record HttpResponseHead(string StatusLine, int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    /// <summary>Every value of a header, compared case-insensitively by name as RFC 9110 5.1 requires.</summary>
    public IReadOnlyList<string> Values(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();

    public string? Header(string name) => Values(name) is [var single] ? single : null;

    public bool Has(string name) => Values(name).Count > 0;

    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);

    public override string ToString() =>
        StatusLine + " | " + string.Join(" | ", Headers.Select(h => $"{h.Key}: {h.Value}")) + (Body.Length > 0 ? $" | body: {BodyText}" : string.Empty);
}
