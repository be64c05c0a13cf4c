using System.Text;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// Connection churn and hostile clients, one action at a time: clean closes, resets, clients killed mid-frame,
/// readers that stall, malformed input of every kind, ping floods, SSE streams dropped midway. Each hostile action
/// must get its exact answer (docs/protocol.md sections 1.2, 2.5 and 6.1); a wrong one is a violation.
/// </summary>
internal sealed class Churner
{
    // Readers that stall hold their sockets a while; a few at a time is enough to keep one or two always stalled.
    private static readonly SemaphoreSlim Stallers = new(4);

    private readonly SoakContext _context;
    private readonly string[] _users;
    private readonly Random _random;
    private readonly List<Task> _stalled = [];

    public Churner(SoakContext context, string[] users, int seed)
    {
        _context = context;
        _users = users;
        _random = new Random(seed);
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var action = CancellationTokenSource.CreateLinkedTokenSource(stop);
            action.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                await OneActionAsync(action.Token, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                _context.Violations.Add("churn: an action got no answer within 30 s");
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException or IOException)
            {
                _context.Violations.Add($"churn: {ex.GetType().Name}: {ex.Message}");
            }
        }
        await Task.WhenAll(_stalled).ConfigureAwait(false);
    }

    private string AnyUser() => _users[_random.Next(_users.Length)];

    private async Task OneActionAsync(CancellationToken cancellation, CancellationToken stop)
    {
        int pick = _random.Next(100);
        switch (pick)
        {
            case < 20:
                await CleanCloseAsync(cancellation).ConfigureAwait(false);
                break;
            case < 35:
                await ResetAfterListAsync(cancellation).ConfigureAwait(false);
                break;
            case < 45:
                await KilledMidFrameAsync(cancellation).ConfigureAwait(false);
                break;
            case < 50:
                StartStalledReader(stop);
                break;
            case < 85:
                await MalformedAsync(cancellation).ConfigureAwait(false);
                break;
            case < 90:
                await PingFloodAsync(cancellation).ConfigureAwait(false);
                break;
            default:
                await SseAsync(cancellation).ConfigureAwait(false);
                break;
        }
    }

    private async Task CleanCloseAsync(CancellationToken cancellation)
    {
        await using var tab = await SoakTab.ConnectAsync(_context.Hub.WebSocketUri, _context.Token(AnyUser()), cancellation).ConfigureAwait(false);
        var list = await tab.ReceiveAsync(cancellation).ConfigureAwait(false);
        Expect(list?.GetProperty("type").GetString() == "process_list", "a new tab's first message is process_list", $"got {list}");
        await tab.CloseAsync(cancellation).ConfigureAwait(false);
        Expect(tab.CloseStatus == System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "a client's close is echoed", $"got {(int?)tab.CloseStatus}");
        _context.Violations.Tally("churn: clean close");
    }

    private async Task<RawClient> OpenRawAsync(string user, CancellationToken cancellation, int? receiveBufferSize = null, bool readList = true)
    {
        var client = await RawClient.ConnectAsync(_context.Hub.EndPoint, cancellation, receiveBufferSize).ConfigureAwait(false);
        int status = await client.UpgradeAsync("/ws?token=" + Uri.EscapeDataString(_context.Token(user)), cancellation).ConfigureAwait(false);
        if (status != 101)
        {
            client.Dispose();
            throw new IOException($"the upgrade was answered {status}");
        }
        if (readList)
        {
            // The hub's heartbeat ping can come before the list (a control frame, not a message; docs/protocol.md 5.6):
            // seen once when a tick fell between the connection's registration and its list.
            var list = await ReadFrameAfterPingsAsync(client, cancellation).ConfigureAwait(false);
            Expect(list is { Opcode: 0x1 } frame && Encoding.UTF8.GetString(frame.Payload).StartsWith("{\"type\":\"process_list\"", StringComparison.Ordinal),
                "the first frame is process_list", list is null ? "the connection ended" : $"opcode {list.Value.Opcode}");
        }
        return client;
    }

    /// <summary>The next frame that is not a ping or a pong; null when the connection ended.</summary>
    private static async Task<(byte Opcode, byte[] Payload)?> ReadFrameAfterPingsAsync(RawClient client, CancellationToken cancellation)
    {
        while (true)
        {
            var frame = await client.ReadFrameAsync(cancellation).ConfigureAwait(false);
            if (frame is not { Opcode: 0x9 or 0xA })
            {
                return frame;
            }
        }
    }

    private async Task ResetAfterListAsync(CancellationToken cancellation)
    {
        var client = await OpenRawAsync(AnyUser(), cancellation).ConfigureAwait(false);
        client.Reset();
        _context.Violations.Tally("churn: reset (RST)");
    }

    private async Task KilledMidFrameAsync(CancellationToken cancellation)
    {
        var client = await OpenRawAsync(AnyUser(), cancellation).ConfigureAwait(false);
        var frame = RawClient.Text("{\"type\":\"ping\",\"request_id\":\"" + new string('k', 150) + "\"}");
        await client.SendAsync(frame.AsMemory(0, _random.Next(1, frame.Length - 1)), cancellation).ConfigureAwait(false);
        client.Reset();
        _context.Violations.Tally("churn: killed mid-frame");
    }

    private void StartStalledReader(CancellationToken stop)
    {
        if (!Stallers.Wait(0, CancellationToken.None))
        {
            return;
        }
        int holdMs = 5_000 + _random.Next(15_000);
        _stalled.RemoveAll(t => t.IsCompleted);
        _stalled.Add(Task.Run(async () =>
        {
            try
            {
                // The noisy user's events are large and frequent: a reader that stops reading backs the hub up.
                var client = await OpenRawAsync("noisy", stop, receiveBufferSize: 4096, readList: false).ConfigureAwait(false);
                _context.Violations.Tally("churn: stalled reader");
                try
                {
                    await Task.Delay(holdMs, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The soak ends: drop it.
                }
                client.Reset();
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException)
            {
                // The soak ended while it connected.
            }
            finally
            {
                Stallers.Release();
            }
        }, CancellationToken.None));
    }

    private async Task MalformedAsync(CancellationToken cancellation)
    {
        int kind = _random.Next(8);
        switch (kind)
        {
            case 0:
            {
                using var client = await OpenRawAsync(AnyUser(), cancellation).ConfigureAwait(false);
                await client.SendAsync(RawClient.Text("{\"type\":\"ping\",\"request_id\":"), cancellation).ConfigureAwait(false);
                // The user's live events may come first, and so may the hub's heartbeat ping (every 5 s here; seen once
                // in an 8-minute soak): the reply is the first text message that is not an event.
                string text;
                (byte Opcode, byte[] Payload)? reply;
                while (true)
                {
                    reply = await ReadFrameAfterPingsAsync(client, cancellation).ConfigureAwait(false);
                    text = reply is { } frame ? Encoding.UTF8.GetString(frame.Payload) : "";
                    if (!text.StartsWith("{\"type\":\"process_", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
                Expect(text.Contains("\"code\":\"bad_request\"", StringComparison.Ordinal) && text.Contains("malformed JSON", StringComparison.Ordinal),
                    "malformed JSON gets bad_request and the connection stays open", reply is { } last ? $"opcode {last.Opcode}: {text}" : "the connection ended");
                await client.SendAsync(RawClient.Frame(0x8, [0x03, 0xE8]), cancellation).ConfigureAwait(false);
                var close = await client.ReadUntilCloseAsync(cancellation).ConfigureAwait(false);
                Expect(close.Code == 1000, "a close after an error is echoed", $"{close.Code}");
                break;
            }
            case 1:
                await ExpectCloseAsync(RawClient.Frame(0x2, "binary"u8), 1003, "binary messages are not supported", cancellation).ConfigureAwait(false);
                break;
            case 2:
                await ExpectCloseAsync(RawClient.Frame(0x1, [0x7B, 0xC3, 0x28, 0x7D]), 1007, "invalid utf-8", cancellation).ConfigureAwait(false);
                break;
            case 3:
                await ExpectCloseAsync(RawClient.Frame(0x1, "{}"u8, masked: false), 1002, "unmasked client frame", cancellation).ConfigureAwait(false);
                break;
            case 4:
            {
                // A frame announcing more than the message limit: refused from its header.
                var header = RawClient.Frame(0x1, new byte[70_000])[..14];
                await ExpectCloseAsync(header, 1009, "message too big", cancellation).ConfigureAwait(false);
                break;
            }
            case 5:
            {
                using var client = await RawClient.ConnectAsync(_context.Hub.EndPoint, cancellation).ConfigureAwait(false);
                int status = await client.UpgradeAsync("/ws?token=not.a.token", cancellation).ConfigureAwait(false);
                var close = await client.ReadUntilCloseAsync(cancellation).ConfigureAwait(false);
                Expect(status == 101 && close.Code == 4401 && close.Reason == "invalid token" && close.Before.Count == 0,
                    "a bad token gets 101, then only a 4401 'invalid token' close", $"{status}, {close.Code} '{close.Reason}', {close.Before.Count} frames before");
                break;
            }
            case 6:
            {
                using var client = await RawClient.ConnectAsync(_context.Hub.EndPoint, cancellation).ConfigureAwait(false);
                int status = await client.UpgradeAsync("/ws", cancellation).ConfigureAwait(false);
                await client.SendAsync(RawClient.Text("{\"type\":\"ping\"}"), cancellation).ConfigureAwait(false);
                var close = await client.ReadUntilCloseAsync(cancellation).ConfigureAwait(false);
                Expect(status == 101 && close.Code == 4401 && close.Reason == "auth required", "a message before auth gets 4401 'auth required'", $"{status}, {close.Code} '{close.Reason}'");
                break;
            }
            default:
            {
                using var client = await RawClient.ConnectAsync(_context.Hub.EndPoint, cancellation).ConfigureAwait(false);
                await client.SendAsync("NOT HTTP AT ALL\r\n\r\n"u8.ToArray(), cancellation).ConfigureAwait(false);
                int status = await client.ReadStatusAsync(cancellation).ConfigureAwait(false);
                Expect(status == 400, "a request line that is not HTTP gets 400", $"{status}");
                break;
            }
        }
        _context.Violations.Tally($"churn: malformed input {kind}");
    }

    private async Task ExpectCloseAsync(byte[] bytes, ushort code, string reason, CancellationToken cancellation)
    {
        using var client = await OpenRawAsync(AnyUser(), cancellation).ConfigureAwait(false);
        await client.SendAsync(bytes, cancellation).ConfigureAwait(false);
        var close = await client.ReadUntilCloseAsync(cancellation).ConfigureAwait(false);
        Expect(close.Code == code && close.Reason == reason, $"close {code} '{reason}'", $"{close.Code} '{close.Reason}'");
    }

    private async Task PingFloodAsync(CancellationToken cancellation)
    {
        using var client = await OpenRawAsync(AnyUser(), cancellation).ConfigureAwait(false);
        const int Pings = 2_000;
        var flood = new byte[Pings * 6];
        var ping = RawClient.Frame(0x9, []);
        for (int i = 0; i < Pings; i++)
        {
            ping.CopyTo(flood, i * ping.Length);
        }
        await client.SendAsync(flood.AsMemory(0, Pings * ping.Length), cancellation).ConfigureAwait(false);
        var close = await client.ReadUntilCloseAsync(cancellation).ConfigureAwait(false);
        int pongs = close.Before.Count(f => f.Opcode == 0xA);
        Expect(close.Code == 1008 && close.Reason == "rate limit exceeded" && pongs < Pings,
            "a ping flood is answered up to the message budget, then closed with 1008", $"{pongs} pongs, close {close.Code} '{close.Reason}'");
        _context.Violations.Tally("churn: ping flood");
    }

    private async Task SseAsync(CancellationToken cancellation)
    {
        if (_context.AnyRunning(_random) is not { } running)
        {
            return;
        }
        var (processId, owner) = running;
        using var client = await RawClient.ConnectAsync(_context.Hub.EndPoint, cancellation).ConfigureAwait(false);
        string request = $"GET /api/processes/{processId}/events HTTP/1.1\r\nHost: {_context.Hub.EndPoint}\r\nAuthorization: Bearer {_context.Token(owner)}\r\nAccept: text/event-stream\r\n\r\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(request), cancellation).ConfigureAwait(false);
        int status = await client.ReadStatusAsync(cancellation).ConfigureAwait(false);
        // 404: the process ended and was forgotten between the pick and the request.
        Expect(status is 200 or 404, "an SSE stream of a visible process opens", $"{status}");
        if (status == 200)
        {
            await Task.Delay(_random.Next(1_000), cancellation).ConfigureAwait(false);
        }
        if (_random.Next(2) == 0)
        {
            client.Reset();
        }
        _context.Violations.Tally($"churn: SSE stream ({status})");
    }

    private void Expect(bool holds, string what, string seen)
    {
        if (!holds)
        {
            _context.Violations.Add($"churn: expected {what}; {seen}");
        }
    }
}
