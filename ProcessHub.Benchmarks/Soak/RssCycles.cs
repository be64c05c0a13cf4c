using System.Globalization;
using System.Text;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// Issue 13, item 11: cycles of N WebSocket connects (each authenticated, each reading its process_list) and closes
/// against the real binary, with the hub's resident memory read after a compacting GC (<c>POST /api/admin/reclaim</c>)
/// at the end of each cycle. A hub that keeps nothing per closed connection levels off after the first cycle.
/// <c>soak rss [--cycles 6] [--connections 3000] [--users 300] [--processes-per-user N] [--replay-tabs N] [--slope-from N] [--pause-after-first SECONDS] [--hub DLL] [--hold-seconds N]</c>.
/// </summary>
internal static class RssCycles
{
    public static async Task<int> RunAsync(string[] args)
    {
        int cycles = IntOption(args, "--cycles", 6);
        int connections = IntOption(args, "--connections", 3000);
        int users = IntOption(args, "--users", 300);
        int replayTabs = IntOption(args, "--replay-tabs", 0);
        string hubDll = Option(args, "--hub") ?? SoakOptions.DefaultHubDll();
        // A short history (4 events) with --processes-per-user: it is full after the first cycles, so the events a
        // cycle adds replace as many as they add, and the memory a cycle leaves behind is the change in what they hold.
        string[] hubArguments = ["--ping-interval", "0", "--max-connections-per-user", "100000", "--max-connections", "100000", "--api-rate-limit", "100000", "--history-limit", "4"];
        await using var hub = await SoakHub.StartAsync(hubDll, "memory", hubArguments).ConfigureAwait(false);
        using var context = new SoakContext(hub, seed: 0);
        var tokens = Enumerable.Range(0, users).Select(i => SoakHub.TokenFor($"rss-user-{i}")).ToArray();
        string? replayed = replayTabs > 0 ? await StartReplayedProcessAsync(context).ConfigureAwait(false) : null;
        // With --processes-per-user, each user has running processes with a sizable progress (so each connection's
        // process_list is a few KB), and every cycle reports one small progress event on each: what the hub then keeps
        // in history is made of frames that went through the pool after the cycle's lists.
        var running = await StartRunningAsync(context, users, IntOption(args, "--processes-per-user", 0)).ConfigureAwait(false);

        var rows = new List<(int Cycle, long Resident, long Heap, int Threads, int Handles)>();
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"rss: {cycles} cycles of {connections} connects and closes ({users} users) against {hubDll}"));
        for (int cycle = 0; cycle <= cycles; cycle++)
        {
            if (cycle == 2 && IntOption(args, "--pause-after-first", 0) is > 0 and int pause)
            {
                // Tiered compilation recompiles what the first cycle made hot in the background, for a minute or so: a
                // pause here separates that one-off growth from anything a cycle itself would leave behind.
                await Task.Delay(TimeSpan.FromSeconds(pause)).ConfigureAwait(false);
            }
            if (cycle > 0)
            {
                await ConnectAndCloseAsync(hub, tokens, connections).ConfigureAwait(false);
                if (replayed is not null)
                {
                    await ReplayStormAsync(hub, replayed, replayTabs).ConfigureAwait(false);
                }
                await ReportOnEachAsync(context, running, cycle).ConfigureAwait(false);
                await WaitForNoConnectionsAsync(context).ConfigureAwait(false);
            }
            var (status, body) = await context.SendAsync(HttpMethod.Post, "/api/admin/reclaim", SoakHub.AdminToken, null, CancellationToken.None).ConfigureAwait(false);
            if (status != 200)
            {
                Console.Error.WriteLine($"rss: reclaim answered {status}");
                return 1;
            }
            var sample = ProcessSample.Take(hub.Pid, 0);
            rows.Add((cycle, body.GetProperty("resident_bytes").GetInt64(), body.GetProperty("heap_bytes").GetInt64(), sample.Threads, sample.Handles));
            string detail = body.TryGetProperty("fragmented_bytes", out var fragmented)
                ? string.Create(c, $" (fragmented {fragmented.GetInt64() / 1048576.0:0.00} MB, {body.GetProperty("pinned_objects").GetInt64()} pinned objects, committed {body.GetProperty("committed_bytes").GetInt64() / 1048576.0:0.00} MB)")
                : "";
            Console.WriteLine(string.Create(c, $"rss: cycle {cycle}: resident {rows[^1].Resident / 1048576.0:0.00} MB, heap {rows[^1].Heap / 1048576.0:0.00} MB{detail}, threads {sample.Threads}, fds {sample.Handles}"));
        }
        // The first cycles warm pools, the thread pool and the JIT (tiered compilation recompiles hot code for a minute
        // or so); --slope-from leaves them out.
        int slopeFrom = IntOption(args, "--slope-from", 1);
        var steady = rows.Where(r => r.Cycle >= slopeFrom).ToList();
        double perCycle = Slope.PerHour(steady.Select(r => ((double)r.Cycle, r.Resident / 1024.0)).ToList()) / 3600;
        double heapPerCycle = Slope.PerHour(steady.Select(r => ((double)r.Cycle, r.Heap / 1024.0)).ToList()) / 3600;
        var summary = new StringBuilder();
        summary.Append(c, $"rss: slope over cycles {slopeFrom}-{cycles}: {perCycle:+0;-0} KB of RSS per cycle, {heapPerCycle:+0;-0} KB of managed heap per cycle");
        Console.WriteLine(summary.ToString());
        if (IntOption(args, "--hold-seconds", 0) is > 0 and int hold)
        {
            // Time to look inside the hub (dotnet-gcdump collect -p PID) before it stops.
            Console.WriteLine(string.Create(c, $"rss: holding the hub (pid {hub.Pid}) for {hold} s"));
            await Task.Delay(TimeSpan.FromSeconds(hold)).ConfigureAwait(false);
        }
        await hub.StopAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        return 0;
    }

    private static async Task ConnectAndCloseAsync(SoakHub hub, string[] tokens, int connections)
    {
        var open = new RawClient[connections];
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async i =>
        {
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                var client = await RawClient.ConnectAsync(hub.EndPoint, CancellationToken.None).ConfigureAwait(false);
                int status = await client.UpgradeAsync("/ws?token=" + tokens[i % tokens.Length], CancellationToken.None).ConfigureAwait(false);
                var list = status == 101 ? await client.ReadFrameAsync(CancellationToken.None).ConfigureAwait(false) : null;
                if (list is null)
                {
                    throw new IOException($"connection {i}: upgrade {status}, no process_list");
                }
                open[i] = client;
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        // Every connection open at once, then all closed: half with a close handshake, half with a reset.
        await Task.WhenAll(open.Select(async (client, i) =>
        {
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (i % 2 == 0)
                {
                    await client.SendAsync(RawClient.Frame(0x8, [0x03, 0xE8]), CancellationToken.None).ConfigureAwait(false);
                    await client.ReadUntilCloseAsync(CancellationToken.None).ConfigureAwait(false);
                    client.Dispose();
                }
                else
                {
                    client.Reset();
                }
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
    }

    private static async Task<List<(string Id, string Token)>> StartRunningAsync(SoakContext context, int users, int perUser)
    {
        var running = new List<(string, string)>();
        string detail = new('d', 1500);
        for (int user = 0; user < users && perUser > 0; user++)
        {
            string token = SoakHub.TokenFor($"rss-user-{user}");
            for (int i = 0; i < perUser; i++)
            {
                var (status, body) = await context.SendAsync(HttpMethod.Post, "/api/processes", token, new { process_type = "listed", total = 1000 }, CancellationToken.None).ConfigureAwait(false);
                if (status != 201)
                {
                    throw new IOException($"create answered {status}");
                }
                string id = body.GetProperty("process_id").GetString()!;
                await context.SendAsync(HttpMethod.Post, $"/api/processes/{id}/progress", token, new { current = 0, total = 1000, detail }, CancellationToken.None).ConfigureAwait(false);
                running.Add((id, token));
            }
        }
        return running;
    }

    private static async Task ReportOnEachAsync(SoakContext context, List<(string Id, string Token)> running, int cycle)
    {
        foreach (var (id, token) in running)
        {
            await context.SendAsync(HttpMethod.Post, $"/api/processes/{id}/progress", token, new { current = cycle, total = 1000, detail = $"cycle {cycle}" }, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private const int ReplayedEvents = 1000;

    /// <summary>A process of user "replay" with a full history: 1,000 progress events.</summary>
    private static async Task<string> StartReplayedProcessAsync(SoakContext context)
    {
        string token = SoakHub.TokenFor("replay");
        var (status, body) = await context.SendAsync(HttpMethod.Post, "/api/processes", token, new { process_type = "replayed", total = ReplayedEvents }, CancellationToken.None).ConfigureAwait(false);
        if (status != 201)
        {
            throw new IOException($"create answered {status}");
        }
        string id = body.GetProperty("process_id").GetString()!;
        for (int i = 1; i < ReplayedEvents; i++)
        {
            await context.SendAsync(HttpMethod.Post, $"/api/processes/{id}/progress", token, new { current = i, total = ReplayedEvents, detail = "replayed event" }, CancellationToken.None).ConfigureAwait(false);
        }
        return id;
    }

    /// <summary>
    /// A storm of resumes: <paramref name="tabs"/> tabs that read slowly (a 4 KB receive buffer) each subscribe since 0
    /// to the replayed process, so every tab has its own copy of each replayed progress frame queued at once; then
    /// they read it all and leave. The hub's frames go back to its pool when they are sent.
    /// </summary>
    private static async Task ReplayStormAsync(SoakHub hub, string processId, int tabs)
    {
        string token = SoakHub.TokenFor("replay");
        var clients = new List<RawClient>();
        for (int i = 0; i < tabs; i++)
        {
            var client = await RawClient.ConnectAsync(hub.EndPoint, CancellationToken.None, receiveBufferSize: 4096).ConfigureAwait(false);
            if (await client.UpgradeAsync("/ws?token=" + token, CancellationToken.None).ConfigureAwait(false) != 101
                || await client.ReadFrameAsync(CancellationToken.None).ConfigureAwait(false) is null)
            {
                throw new IOException("a replay tab could not open");
            }
            await client.SendAsync(RawClient.Text($"{{\"type\":\"subscribe\",\"process_id\":\"{processId}\",\"since\":0}}"), CancellationToken.None).ConfigureAwait(false);
            clients.Add(client);
        }
        await Task.WhenAll(clients.Select(async client =>
        {
            for (int read = 0; read < ReplayedEvents + 1;)
            {
                var frame = await client.ReadFrameAsync(CancellationToken.None).ConfigureAwait(false) ?? throw new IOException("a replay tab was closed");
                read += frame.Opcode == 0x1 ? 1 : 0;
            }
            await client.SendAsync(RawClient.Frame(0x8, [0x03, 0xE8]), CancellationToken.None).ConfigureAwait(false);
            await client.ReadUntilCloseAsync(CancellationToken.None).ConfigureAwait(false);
            client.Dispose();
        })).ConfigureAwait(false);
    }

    private static async Task WaitForNoConnectionsAsync(SoakContext context)
    {
        for (int i = 0; i < 600; i++)
        {
            var health = await context.HealthAsync(CancellationToken.None).ConfigureAwait(false);
            if (health.GetProperty("connections").GetInt32() == 0)
            {
                return;
            }
            await Task.Delay(100).ConfigureAwait(false);
        }
        throw new TimeoutException("connections did not drop to 0 within 60 s");
    }

    private static string? Option(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static int IntOption(string[] args, string name, int fallback) =>
        Option(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
