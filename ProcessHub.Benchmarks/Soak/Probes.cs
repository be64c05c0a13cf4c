using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// The hostile probes of issue 13, each against a fresh real binary, printed as a table of what the hub answers:
/// <c>soak probes [--hub DLL]</c>. Run against an older build, the same table shows what it answered then.
/// </summary>
internal static class Probes
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        int at = Array.IndexOf(args, "--hub");
        string hubDll = at >= 0 && at + 1 < args.Length ? args[at + 1] : SoakOptions.DefaultHubDll();
        Console.WriteLine($"probes against {hubDll}");
        Console.WriteLine("| probe | answer |");
        Console.WriteLine("|---|---|");
        await ProbeAsync(hubDll, [], LargeErrorAndListAsync).ConfigureAwait(false);
        await ProbeAsync(hubDll, [], ManyProcessesAsync).ConfigureAwait(false);
        await ProbeAsync(hubDll, ["--max-processes-per-user", "100000"], MemoryPerProcessAsync).ConfigureAwait(false);
        await ProbeAsync(hubDll, ["--max-connections", "10"], SseStreamsAsync).ConfigureAwait(false);
        await ProbeAsync(hubDll, [], OneUsersStreamsAsync).ConfigureAwait(false);
        await ProbeAsync(hubDll, [], SubscribeEverythingAsync).ConfigureAwait(false);
        await ProbeAsync(hubDll, [], PingFloodAsync).ConfigureAwait(false);
        return 0;
    }

    private static async Task ProbeAsync(string hubDll, string[] options, Func<SoakContext, Task> probe)
    {
        SoakHub hub;
        try
        {
            hub = await SoakHub.StartAsync(hubDll, "memory", [.. options, "--ping-interval", "0", "--api-rate-limit", "100000"]).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            Row(probe.Method.Name, $"this hub does not start with {string.Join(' ', options)}");
            return;
        }
        await using var owned = hub;
        using var context = new SoakContext(hub, seed: 0);
        try
        {
            await probe(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException)
        {
            Row(probe.Method.Name, $"the probe failed: {ex.GetType().Name}: {ex.Message}");
        }
        await hub.StopAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
    }

    private static void Row(string probe, string answer) => Console.WriteLine($"| {probe} | {answer} |");

    private static async Task<string> CreateAsync(SoakContext context, string token, object? body = null)
    {
        var (status, reply) = await context.SendAsync(HttpMethod.Post, "/api/processes", token, body ?? new { process_type = "probe" }, CancellationToken.None).ConfigureAwait(false);
        return status == 201 ? reply.GetProperty("process_id").GetString()! : throw new IOException($"create answered {status}");
    }

    private static async Task<long> ReclaimedResidentAsync(SoakContext context)
    {
        var (_, body) = await context.SendAsync(HttpMethod.Post, "/api/admin/reclaim", SoakHub.AdminToken, null, CancellationToken.None).ConfigureAwait(false);
        return body.GetProperty("resident_bytes").GetInt64();
    }

    // Items 1 and 3: a 600 KB and a 100 KB error.message; a list over the outbound limit, for its user and for an admin.
    private static async Task LargeErrorAndListAsync(SoakContext context)
    {
        string token = SoakHub.TokenFor("alice");
        foreach (int size in (int[])[600_000, 100_000])
        {
            string id = await CreateAsync(context, token).ConfigureAwait(false);
            var (status, body) = await context.SendAsync(HttpMethod.Post, $"/api/processes/{id}/fail", token, new { error = new { message = new string('x', size) } }, CancellationToken.None).ConfigureAwait(false);
            Row($"`fail` with a {size / 1000} KB `error.message`", $"{status} {Message(body)}");
        }
        string detail = new('d', 3_900);
        for (int i = 0; i < 300; i++)
        {
            string id = await CreateAsync(context, token).ConfigureAwait(false);
            await context.SendAsync(HttpMethod.Post, $"/api/processes/{id}/progress", token, new { current = 1, total = 10, detail }, CancellationToken.None).ConfigureAwait(false);
        }
        foreach (var (who, whoToken) in ((string, string)[])[("alice (300 running, 3.9 KB progress each)", token), ("an admin", SoakHub.AdminToken)])
        {
            await using var tab = await SoakTab.ConnectAsync(context.Hub.WebSocketUri, whoToken, CancellationToken.None).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var first = await tab.ReceiveAsync(timeout.Token).ConfigureAwait(false);
            if (first is not { } list)
            {
                Row($"a new connection of {who}", $"closed with {(int?)tab.CloseStatus} \"{tab.CloseDescription}\" before any message");
                continue;
            }
            string size = (Encoding.UTF8.GetByteCount(list.GetRawText()) / 1024.0).ToString("0", C);
            string truncated = list.TryGetProperty("truncated", out _) ? $", truncated, total {list.GetProperty("total").GetInt32()}" : "";
            await tab.SendAsync(new { type = "ping", request_id = "after" }, timeout.Token).ConfigureAwait(false);
            var pong = await tab.ReceiveAsync(timeout.Token).ConfigureAwait(false);
            Row($"a new connection of {who}", $"`process_list` of {size} KB with {list.GetProperty("processes").GetArrayLength()} processes{truncated}; then {(pong is { } p ? p.GetProperty("type").GetString() : $"closed {(int?)tab.CloseStatus}")}");
        }
    }

    // Item 2: one token creating 20,000 processes, running; then 20,000 that end.
    private static async Task ManyProcessesAsync(SoakContext context)
    {
        string token = SoakHub.TokenFor("bob");
        long before = await ReclaimedResidentAsync(context).ConfigureAwait(false);
        int created = 0;
        int? firstRefusal = null;
        string refusal = "";
        for (int i = 0; i < 20_000; i++)
        {
            var (status, body) = await context.SendAsync(HttpMethod.Post, "/api/processes", token, new { process_type = "probe" }, CancellationToken.None).ConfigureAwait(false);
            if (status == 201)
            {
                created++;
            }
            else if (firstRefusal is null)
            {
                firstRefusal = i + 1;
                refusal = $"{status} {Message(body)}";
                break;
            }
        }
        long running = await ReclaimedResidentAsync(context).ConfigureAwait(false);
        Row("one token creates 20,000 running processes", firstRefusal is null
            ? $"all {created:N0} created; RSS after a reclaim {Mb(before)} -> {Mb(running)}"
            : $"{created:N0} created, number {firstRefusal:N0} refused: {refusal}; RSS after a reclaim {Mb(before)} -> {Mb(running)}");

        string carol = SoakHub.TokenFor("carol");
        for (int i = 0; i < 20_000; i++)
        {
            string id = await CreateAsync(context, carol).ConfigureAwait(false);
            await context.SendAsync(HttpMethod.Post, $"/api/processes/{id}/complete", carol, new { }, CancellationToken.None).ConfigureAwait(false);
        }
        await Task.Delay(1_000).ConfigureAwait(false); // a sweep (every 250 ms) forgets what is past the per-user limit
        var health = await context.HealthAsync(CancellationToken.None).ConfigureAwait(false);
        long ended = await ReclaimedResidentAsync(context).ConfigureAwait(false);
        Row("another token starts and ends 20,000 processes", $"the hub knows {health.GetProperty("processes").GetInt32():N0} processes in all; RSS after a reclaim {Mb(ended)}");
    }

    // Item 2: what a running process costs, measured with 20,000 of them (the per-user limit raised).
    private static async Task MemoryPerProcessAsync(SoakContext context)
    {
        string token = SoakHub.TokenFor("gina");
        long before = await ReclaimedResidentAsync(context).ConfigureAwait(false);
        for (int i = 0; i < 20_000; i++)
        {
            string id = await CreateAsync(context, token).ConfigureAwait(false);
            await context.SendAsync(HttpMethod.Post, $"/api/processes/{id}/progress", token, new { current = 1, total = 10, detail = "step 1" }, CancellationToken.None).ConfigureAwait(false);
        }
        long after = await ReclaimedResidentAsync(context).ConfigureAwait(false);
        Row("20,000 running processes with 2 events each (`--max-processes-per-user 100000`)", $"RSS after a reclaim {Mb(before)} -> {Mb(after)}, {(after - before) / 20_000.0 / 1024:0.0} KB per process");
    }

    // Item 4: SSE streams against --max-connections 10, and one user's streams against the per-user limit (100).
    private static async Task SseStreamsAsync(SoakContext context)
    {
        string owner = SoakHub.TokenFor("dave");
        string id = await CreateAsync(context, owner).ConfigureAwait(false);
        var statuses = new List<int>();
        var streams = new List<RawClient>();
        for (int i = 0; i < 30; i++)
        {
            var (client, status) = await OpenStreamAsync(context, id, i % 2 == 0 ? owner : SoakHub.AdminToken).ConfigureAwait(false);
            statuses.Add(status);
            streams.Add(client);
        }
        var health = await context.HealthAsync(CancellationToken.None).ConfigureAwait(false);
        Row("30 SSE streams with `--max-connections 10`", $"{Counts(statuses)}; /healthz: {health}");
        foreach (var stream in streams)
        {
            stream.Reset();
        }
    }

    // Item 4, per user: one user's streams against --max-connections-per-user (100), with one WebSocket of theirs open.
    private static async Task OneUsersStreamsAsync(SoakContext context)
    {
        string owner = SoakHub.TokenFor("dave");
        string id = await CreateAsync(context, owner).ConfigureAwait(false);
        using var tab = await RawClient.ConnectAsync(context.Hub.EndPoint, CancellationToken.None).ConfigureAwait(false);
        await tab.UpgradeAsync("/ws?token=" + owner, CancellationToken.None).ConfigureAwait(false);
        await tab.ReadFrameAsync(CancellationToken.None).ConfigureAwait(false);
        var statuses = new List<int>();
        var streams = new List<RawClient>();
        for (int i = 0; i < 200; i++)
        {
            var (client, status) = await OpenStreamAsync(context, id, owner).ConfigureAwait(false);
            statuses.Add(status);
            streams.Add(client);
        }
        var health = await context.HealthAsync(CancellationToken.None).ConfigureAwait(false);
        Row("one user opens 200 SSE streams (a WebSocket of theirs open; per-user limit 100)", $"{Counts(statuses)}; /healthz connections {health.GetProperty("connections").GetInt32()}");
        foreach (var stream in streams)
        {
            stream.Reset();
        }
    }

    private static async Task<(RawClient Client, int Status)> OpenStreamAsync(SoakContext context, string id, string token)
    {
        var client = await RawClient.ConnectAsync(context.Hub.EndPoint, CancellationToken.None).ConfigureAwait(false);
        string request = $"GET /api/processes/{id}/events HTTP/1.1\r\nHost: {context.Hub.EndPoint}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(request), CancellationToken.None).ConfigureAwait(false);
        return (client, await client.ReadStatusAsync(CancellationToken.None).ConfigureAwait(false));
    }

    // Item 5: subscribe "*" with a since, and with a foreign epoch.
    private static async Task SubscribeEverythingAsync(SoakContext context)
    {
        await using var tab = await SoakTab.ConnectAsync(context.Hub.WebSocketUri, SoakHub.TokenFor("erin"), CancellationToken.None).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tab.ReceiveAsync(timeout.Token).ConfigureAwait(false);
        foreach (var (what, message) in ((string, object)[])[
            ("`subscribe` `\"*\"` with `since: 3`", new { type = "subscribe", process_id = "*", since = 3 }),
            ("`subscribe` `\"*\"` with a foreign `epoch`", new { type = "subscribe", process_id = "*", epoch = "ffffffffffffffff" })])
        {
            await tab.SendAsync(message, timeout.Token).ConfigureAwait(false);
            var reply = await tab.ReceiveAsync(timeout.Token).ConfigureAwait(false);
            Row(what, reply is { } r ? $"`subscribed`, `recovered: {(r.GetProperty("recovered").GetBoolean() ? "true" : "false")}`" : "closed");
        }
    }

    // Item 9: 1,000 ping control frames at once.
    private static async Task PingFloodAsync(SoakContext context)
    {
        using var client = await RawClient.ConnectAsync(context.Hub.EndPoint, CancellationToken.None).ConfigureAwait(false);
        await client.UpgradeAsync("/ws?token=" + SoakHub.TokenFor("frank"), CancellationToken.None).ConfigureAwait(false);
        await client.ReadFrameAsync(CancellationToken.None).ConfigureAwait(false);
        var ping = RawClient.Frame(0x9, "p"u8);
        var flood = new byte[ping.Length * 1_000];
        for (int i = 0; i < 1_000; i++)
        {
            ping.CopyTo(flood, i * ping.Length);
        }
        await client.SendAsync(flood, CancellationToken.None).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int pongs = 0;
        string end = "still open 5 s later";
        try
        {
            while (await client.ReadFrameAsync(timeout.Token).ConfigureAwait(false) is { } frame)
            {
                if (frame.Opcode == 0xA)
                {
                    pongs++;
                }
                else if (frame.Opcode == 0x8)
                {
                    end = $"close {BinaryPrimitives.ReadUInt16BigEndian(frame.Payload)} \"{Encoding.UTF8.GetString(frame.Payload, 2, frame.Payload.Length - 2)}\"";
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Still open: the flood was answered in full.
        }
        Row("1,000 ping control frames at once (`--rate-limit 100`)", $"{pongs} pongs, {end}");
    }

    private static string Counts(List<int> statuses) =>
        string.Join(", ", statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Count()} x {g.Key}"));

    private static string Message(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("error", out var error) ? $"`{error.GetProperty("message").GetString()}`" : body.ValueKind == JsonValueKind.Object ? $"`{body}`" : "";

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0 MB", C);
}
