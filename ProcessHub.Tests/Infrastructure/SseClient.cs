using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// A Server-Sent Events response read byte for byte through <see cref="RawHttpClient"/>: the head, then one block (the
/// text between blank lines) at a time, exactly as the server framed it.
/// </summary>
internal sealed partial class SseClient : IDisposable
{
    private static readonly byte[] EndOfBlock = "\n\n"u8.ToArray();
    private readonly RawHttpClient _client;

    private SseClient(RawHttpClient client, HttpReply head)
    {
        _client = client;
        Head = head;
    }

    /// <summary>The response head (no body: the body is the stream).</summary>
    public HttpReply Head { get; }

    /// <summary>Keep-alive comments seen by <see cref="ReadEventAsync"/> while it skipped them.</summary>
    public int KeepAlivesSkipped { get; private set; }

    public static Task<SseClient> GetAsync(IPEndPoint server, string path, string? token, string? lastEventId = null)
    {
        var headers = new List<(string, string)> { ("Accept", "text/event-stream") };
        if (lastEventId is not null)
        {
            headers.Add(("Last-Event-ID", lastEventId));
        }
        return OpenAsync(server, Encoding.UTF8.GetBytes(RawHttpClient.BuildRequest("GET", path, token, null, [.. headers])));
    }

    public static Task<SseClient> PostAsync(IPEndPoint server, string path, string token, string body, string accept = "text/event-stream")
    {
        var head = RawHttpClient.BuildRequest("POST", path, token, Encoding.UTF8.GetByteCount(body), ("Accept", accept));
        return OpenAsync(server, Encoding.UTF8.GetBytes(head + body));
    }

    private static async Task<SseClient> OpenAsync(IPEndPoint server, byte[] request)
    {
        var client = await RawHttpClient.ConnectAsync(server);
        try
        {
            await client.SendAsync(request);
            return new SseClient(client, await client.ReadHeadAsync());
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The next block without its terminating blank line, or null once the server has closed the stream.</summary>
    public async Task<string?> ReadBlockAsync()
    {
        var block = await _client.ReadUntilAsync(EndOfBlock);
        if (block is null)
        {
            Assert.That(_client.Buffered, Is.Zero, "the stream ended in the middle of a block");
            return null;
        }
        return Encoding.UTF8.GetString(block, 0, block.Length - EndOfBlock.Length);
    }

    /// <summary>The next event, checked to be framed exactly as <c>id: N\nevent: T\ndata: J</c>; keep-alives are skipped.</summary>
    public async Task<SseEvent> ReadEventAsync()
    {
        while (true)
        {
            var block = await ReadBlockAsync() ?? throw new EndOfStreamException("the SSE stream ended before the next event");
            if (block == ": keep-alive")
            {
                KeepAlivesSkipped++;
                continue;
            }
            return Parse(block);
        }
    }

    /// <summary>Events up to and including the terminal one; then the server must close the stream.</summary>
    public async Task<List<SseEvent>> ReadToTerminalAsync()
    {
        var events = new List<SseEvent>();
        while (events.Count == 0 || !events[^1].IsTerminal)
        {
            events.Add(await ReadEventAsync());
        }
        return events;
    }

    /// <summary>Asserts that the server closes the stream next, with no further bytes.</summary>
    public async Task AssertClosedAsync()
    {
        var rest = await _client.ReadToEndAsync();
        Assert.That(Encoding.UTF8.GetString(rest), Is.Empty, "nothing may follow the end of the stream");
    }

    public static SseEvent Parse(string block)
    {
        var match = EventBlock().Match(block);
        Assert.That(match.Success, Is.True, $"not an 'id: N\\nevent: T\\ndata: J' block: '{block}'");
        return new SseEvent(long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value, match.Groups[3].Value);
    }

    public void Dispose() => _client.Dispose();

    [GeneratedRegex(@"\Aid: ([0-9]+)\nevent: ([a-z_]+)\ndata: ([^\n\r]+)\z")]
    private static partial Regex EventBlock();
}
