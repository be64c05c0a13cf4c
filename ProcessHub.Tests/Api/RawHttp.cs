using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Tests.Api;

/// <summary>
/// A minimal HTTP/1.1 client on a raw socket: one request per connection, the request written exactly as given,
/// the response read exactly as sent (no redirects, retries or header rewriting behind the test's back).
/// </summary>
internal static class RawHttp
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly byte[] EndOfHead = "\r\n\r\n"u8.ToArray();

    public static Task<HttpReply> GetAsync(IPEndPoint server, string path, string? token = null, params (string Name, string Value)[] headers) =>
        SendAsync(server, "GET", path, token, body: null, headers);

    public static Task<HttpReply> PostAsync(IPEndPoint server, string path, string? token, string? body, params (string Name, string Value)[] headers) =>
        SendAsync(server, "POST", path, token, body, headers);

    public static Task<HttpReply> SendAsync(IPEndPoint server, string method, string path, string? token, string? body, params (string Name, string Value)[] headers)
    {
        var request = BuildRequest(method, path, token, body is null ? null : Encoding.UTF8.GetByteCount(body), headers);
        var bytes = Encoding.UTF8.GetBytes(request + body);
        return SendRawAsync(server, bytes);
    }

    /// <summary>The request head (ending with the blank line); a body, when there is one, follows it.</summary>
    public static string BuildRequest(string method, string path, string? token, int? contentLength, params (string Name, string Value)[] headers)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"{method} {path} HTTP/1.1\r\n");
        head.Append("Host: 127.0.0.1\r\n");
        if (token is not null)
        {
            head.Append(CultureInfo.InvariantCulture, $"Authorization: Bearer {token}\r\n");
        }
        if (contentLength is int length)
        {
            head.Append("Content-Type: application/json\r\n");
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {length}\r\n");
        }
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }
        head.Append("Connection: close\r\n\r\n");
        return head.ToString();
    }

    /// <summary>Sends the bytes as they are and reads one response (by Content-Length, or to the end of the connection).</summary>
    public static async Task<HttpReply> SendRawAsync(IPEndPoint server, byte[] request)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        using var connecting = new CancellationTokenSource(Timeout);
        await client.ConnectAsync(server, connecting.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(request, connecting.Token);
        return await ReadResponseAsync(new BufferedSocketReader(stream));
    }

    public static async Task<HttpReply> ReadResponseAsync(BufferedSocketReader reader)
    {
        var headBytes = await reader.ReadUntilAsync(EndOfHead, Timeout)
            ?? throw new EndOfStreamException("the server closed the connection without a response");
        string head = Encoding.ASCII.GetString(headBytes, 0, headBytes.Length - EndOfHead.Length);
        var reply = new HttpReply(head, []);
        byte[] body = reply.Header("Content-Length") is { } length
            ? await reader.ReadExactlyAsync(int.Parse(length, CultureInfo.InvariantCulture), Timeout)
            : await reader.ReadToEndAsync(Timeout);
        return new HttpReply(head, body);
    }
}
