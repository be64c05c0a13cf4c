using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// One HTTP response as it came off the wire: the status line, every header in order (names as sent), and the body
/// bytes (empty for a 101, for a streamed response whose body the test reads itself, and for a head read alone).
/// </summary>
internal sealed class HttpReply
{
    public HttpReply(string head, byte[] body)
    {
        Head = head;
        Body = body;
        var lines = head.Split("\r\n");
        StatusLine = lines[0];
        var statusParts = StatusLine.Split(' ', 3);
        if (statusParts.Length < 2 || !int.TryParse(statusParts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int status))
        {
            throw new InvalidDataException($"not an HTTP status line: '{StatusLine}'");
        }
        Version = statusParts[0];
        Status = status;
        Reason = statusParts.Length > 2 ? statusParts[2] : string.Empty;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"not an HTTP header line: '{line}'");
            }
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
        Headers = headers;
    }

    /// <summary>The head exactly as received, without the blank line that ends it.</summary>
    public string Head { get; }

    public string StatusLine { get; }
    public string Version { get; }
    public int Status { get; }
    public string Reason { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
    public byte[] Body { get; }

    public string Text => Encoding.UTF8.GetString(Body);

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>The <c>error.code</c> of a docs/protocol.md error body.</summary>
    public string? ErrorCode => Json.GetProperty("error").GetProperty("code").GetString();

    /// <summary>The <c>error.message</c> of a docs/protocol.md error body.</summary>
    public string? ErrorMessage => Json.GetProperty("error").GetProperty("message").GetString();

    /// <summary>Every value of a header, compared case-insensitively by name as RFC 9110 5.1 requires.</summary>
    public IReadOnlyList<string> Values(string name) =>
        [.. Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value)];

    /// <summary>The header's value; null when it is absent. A header sent twice fails: no test expects that.</summary>
    public string? Header(string name) => Values(name) switch
    {
        [] => null,
        [var single] => single,
        var several => throw new InvalidDataException($"the response has {several.Count} {name} headers: {this}"),
    };

    public bool Has(string name) => Values(name).Count > 0;

    public int HeaderCount(string name) => Values(name).Count;

    public override string ToString() => Body.Length > 0 ? $"{Head}\r\n\r\n{Text}" : Head;
}
