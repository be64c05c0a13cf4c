using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Tests.Api;

/// <summary>A response as it came off the wire: the status line, every header in order, and the body bytes.</summary>
internal sealed class HttpReply
{
    public HttpReply(string head, byte[] body)
    {
        Head = head;
        Body = body;
        var lines = head.Split("\r\n");
        var statusLine = lines[0].Split(' ', 3);
        Version = statusLine[0];
        Status = int.Parse(statusLine[1], CultureInfo.InvariantCulture);
        Reason = statusLine.Length > 2 ? statusLine[2] : "";
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
        Headers = headers;
    }

    /// <summary>The head exactly as received, without the blank line that ends it.</summary>
    public string Head { get; }
    public string Version { get; }
    public int Status { get; }
    public string Reason { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
    public byte[] Body { get; }

    public string Text => Encoding.UTF8.GetString(Body);

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Header(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    public int HeaderCount(string name) =>
        Headers.Count(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The <c>error.code</c> of a docs/protocol.md error body.</summary>
    public string? ErrorCode => Json.GetProperty("error").GetProperty("code").GetString();

    /// <summary>The <c>error.message</c> of a PROTOCOL.md error body.</summary>
    public string? ErrorMessage => Json.GetProperty("error").GetProperty("message").GetString();

    public override string ToString() => $"{Head}\r\n\r\n{Text}";
}
