namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// The benchmark's scenarios against one server, each bounded in events and in time. Each opens its own fleet of
/// connections and closes it at the end, so scenarios and servers can alternate freely.
/// </summary>
internal sealed class Scenarios
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(90);
    private readonly BenchOptions _options;

    public Scenarios(BenchOptions options) => _options = options;

    /// <summary>Events per burst: enough that a burst is ~100,000 deliveries, at least 10 in flight.</summary>
    public static int BurstSize(int connections) => Math.Clamp(100_000 / connections, 10, 2_000);

    private static int BufferSize(int connections) => connections >= 5_000 ? 8 * 1024 : 32 * 1024;

    private static Task RunBlocking(Action action) => Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task<bool> WaitAsync(Task signal, TimeSpan timeout)
    {
        try
        {
            await signal.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task<Fleet> ConnectAsync(BenchContext context, int connections)
    {
        var fleet = context.NewFleet();
        await fleet.ConnectAsync(connections, _options.ConnectParallelism, BufferSize(connections), ConnectTimeout).ConfigureAwait(false);
        return fleet;
    }

    private static async Task CloseAsync(BenchContext context, Fleet fleet)
    {
        await fleet.DisposeAsync().ConfigureAwait(false);
        await context.WaitForNoConnectionsAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
    }

    /// <summary>
    /// Bursts of events in flight for a fixed time: deliveries per second and per server CPU-second, and the delivery
    /// latency of every event during the bursts (from the time the publisher sent it to its receipt).
    /// </summary>
    public Task<Dictionary<string, double>> ThroughputAsync(BenchContext context, int connections) =>
        ThroughputAsync(context, connections, _options.ThroughputSeconds);

    /// <summary>The throughput measurement for a given time: the warm-up rounds have their own, apart from --throughput-seconds.</summary>
    public async Task<Dictionary<string, double>> ThroughputAsync(BenchContext context, int connections, double durationSeconds)
    {
        var fleet = await ConnectAsync(context, connections).ConfigureAwait(false);
        try
        {
            int burst = BurstSize(connections);
            long duration = MonotonicClock.FromSeconds(durationSeconds);
            long errors0 = context.Publisher.Errors;
            fleet.ResetCounters();
            double cpu0 = ProcStats.CpuSeconds(context.Target.Pid);
            long start = MonotonicClock.Now;
            // Every event of the window: from the time its pipelined batch was sent ("ts") to its receipt.
            fleet.RecordFromTs = start;
            long events = 0;
            int timeouts = 0;
            for (int bursts = 0; bursts < 100_000 && MonotonicClock.Now - start < duration; bursts++)
            {
                long first = context.NextIndex;
                context.NextIndex += burst;
                var done = fleet.SetTarget(first + burst - 1);
                await RunBlocking(() => context.Publisher.Burst(first, burst)).ConfigureAwait(false);
                events += burst;
                if (!await WaitAsync(done, TimeSpan.FromSeconds(30)).ConfigureAwait(false))
                {
                    timeouts++;
                    break;
                }
            }
            long end = MonotonicClock.Now;
            double cpu = ProcStats.CpuSeconds(context.Target.Pid) - cpu0;
            double seconds = MonotonicClock.ToSeconds(end - start);
            long delivered = fleet.Delivered;
            var latency = fleet.Latency;
            return new()
            {
                ["deliveries_per_s"] = delivered / seconds,
                ["p50_us"] = latency.Percentile(0.50) / 1e3,
                ["p99_us"] = latency.Percentile(0.99) / 1e3,
                ["p999_us"] = latency.Percentile(0.999) / 1e3,
                ["max_us"] = latency.Max / 1e3,
                ["deliveries_per_cpu_s"] = cpu > 0 ? delivered / cpu : 0,
                ["server_cpu_share"] = cpu / seconds,
                ["events_per_s"] = events / seconds,
                ["delivered_fraction"] = delivered / ((double)events * connections),
                ["burst"] = burst,
                ["timeouts"] = timeouts,
                ["publish_errors"] = context.Publisher.Errors - errors0,
                ["closed"] = fleet.Closed,
            };
        }
        finally
        {
            await CloseAsync(context, fleet).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Open-loop publishing at a fixed rate; latency from each event's scheduled send time to receipt. With
    /// <paramref name="timeline"/>, the longest latency of each event is kept too (the timeline is created here and
    /// handed over before the first send).
    /// </summary>
    public Task<Dictionary<string, double>> LatencyAsync(BenchContext context, int connections, double eventsPerSecond, Action<EventTimeline>? timeline = null) =>
        LatencyAsync(context, connections, eventsPerSecond, _options.LatencySeconds, timeline);

    /// <summary>
    /// The open-loop measurement for <paramref name="seconds"/> of publishing: latency percentiles, and the server's
    /// CPU (utime + stime) from the start of the recorded window until every client has the last event, with the
    /// deliveries in that window, for deliveries per server CPU-second at this rate.
    /// </summary>
    public async Task<Dictionary<string, double>> LatencyAsync(BenchContext context, int connections, double eventsPerSecond, double seconds, Action<EventTimeline>? timeline = null)
    {
        var fleet = await ConnectAsync(context, connections).ConfigureAwait(false);
        try
        {
            fleet.ResetCounters();
            long first = context.NextIndex;
            long start = MonotonicClock.Now + MonotonicClock.FromSeconds(0.05);
            long end = start + MonotonicClock.FromSeconds(seconds);
            if (timeline is not null)
            {
                fleet.Timeline = new EventTimeline(first, (int)Math.Ceiling(eventsPerSecond * seconds) + 1, start, eventsPerSecond);
                timeline(fleet.Timeline);
            }
            // The first half second warms the path up and is not recorded.
            fleet.RecordFromTs = start + MonotonicClock.FromSeconds(0.5);
            int pid = context.Target.Pid;
            long delivered0 = 0;
            double cpu0 = 0;
            long window0 = 0;
            var windowOpened = RunBlocking(() =>
            {
                MonotonicClock.SleepUntil(fleet.RecordFromTs);
                cpu0 = ProcStats.CpuSeconds(pid);
                delivered0 = fleet.Delivered;
                window0 = MonotonicClock.Now;
            });
            long sent = 0;
            await RunBlocking(() => sent = context.PacedPublisher.Paced(first, eventsPerSecond, start, end)).ConfigureAwait(false);
            context.NextIndex = first + sent + 1;
            bool complete = sent > 0 && await WaitAsync(fleet.SetTarget(first + sent - 1), TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            await windowOpened.ConfigureAwait(false);
            double cpu = ProcStats.CpuSeconds(pid) - cpu0;
            long windowDeliveries = fleet.Delivered - delivered0;
            double windowSeconds = MonotonicClock.ToSeconds((complete ? fleet.DoneAt : MonotonicClock.Now) - window0);
            await Task.Delay(100).ConfigureAwait(false);
            var latency = fleet.Latency;
            return new()
            {
                ["deliveries_per_cpu_s"] = cpu > 0 ? windowDeliveries / cpu : 0,
                ["server_cpu_share"] = windowSeconds > 0 ? cpu / windowSeconds : 0,
                ["events_per_s"] = eventsPerSecond,
                ["sent_per_s"] = sent / MonotonicClock.ToSeconds(end - start),
                ["late_send_fraction"] = sent > 0 ? context.PacedPublisher.LateSends / (double)sent : 0,
                ["p50_us"] = latency.Percentile(0.50) / 1e3,
                ["p99_us"] = latency.Percentile(0.99) / 1e3,
                ["p999_us"] = latency.Percentile(0.999) / 1e3,
                ["max_us"] = latency.Max / 1e3,
                ["samples"] = latency.Count,
                ["delivered_fraction"] = sent > 0 ? fleet.Delivered / ((double)sent * connections) : 0,
                ["complete"] = complete ? 1 : 0,
            };
        }
        finally
        {
            await CloseAsync(context, fleet).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// RSS growth per idle connection after a full GC (the peers' POST /gc, ProcessHub's POST /api/admin/reclaim);
    /// for ProcessHub also its live managed heap from dotnet-gcdump. Kernel TCP memory is apart.
    /// </summary>
    public async Task<Dictionary<string, double>> IdleMemoryAsync(BenchContext context, int connections)
    {
        int pid = context.Target.Pid;
        bool dump = context.Target.Kind == ServerKind.ProcessHub;
        // Every reading: a full GC, then RSS; ProcessHub's live heap (dotnet-gcdump) only after the RSS was read,
        // because collecting a dump grows the process's native EventPipe buffers with the size of the heap.
        bool gc = context.TryFullGc();
        await Task.Delay(500).ConfigureAwait(false);
        long rss0 = ProcStats.RssBytes(pid);
        long kernel0 = ProcStats.KernelTcpBytes();
        long heap0 = dump ? GcDump.CollectHeapBytes(_options.GcDumpPath, pid) : -1;
        // A tenth of the fleet first, measured the same way: the growth from there to N is what one more idle
        // connection costs, without the one-time costs (code compiled, pools and heap grown) that the first
        // connections of a storm pay and that dominate RSS growth at small N.
        int firstPart = Math.Max(1, connections / 10);
        var first = await ConnectAsync(context, firstPart).ConfigureAwait(false);
        Fleet? fleet = null;
        try
        {
            await Task.Delay(1000).ConfigureAwait(false);
            context.TryFullGc();
            await Task.Delay(500).ConfigureAwait(false);
            long rssPart = ProcStats.RssBytes(pid);
            long heapPart = dump ? GcDump.CollectHeapBytes(_options.GcDumpPath, pid) : -1;
            fleet = await ConnectAsync(context, connections - firstPart).ConfigureAwait(false);
            await Task.Delay(1000).ConfigureAwait(false);
            context.TryFullGc();
            await Task.Delay(500).ConfigureAwait(false);
            long rss1 = ProcStats.RssBytes(pid);
            long kernel1 = ProcStats.KernelTcpBytes();
            long heap1 = dump ? GcDump.CollectHeapBytes(_options.GcDumpPath, pid) : -1;
            var values = new Dictionary<string, double>
            {
                ["rss_bytes_per_connection"] = (rss1 - rss0) / (double)connections,
                ["marginal_rss_bytes_per_connection"] = (rss1 - rssPart) / (double)(connections - firstPart),
                ["kernel_tcp_bytes_per_connection"] = (kernel1 - kernel0) / (double)connections,
                ["rss_before_mib"] = rss0 / 1048576.0,
                ["rss_after_mib"] = rss1 / 1048576.0,
                ["full_gc"] = gc ? 1 : 0,
            };
            if (heap0 >= 0 && heap1 >= 0)
            {
                values["managed_heap_bytes_per_connection"] = (heap1 - heap0) / (double)connections;
            }
            if (heapPart >= 0 && heap1 >= 0)
            {
                values["marginal_managed_heap_bytes_per_connection"] = (heap1 - heapPart) / (double)(connections - firstPart);
            }
            return values;
        }
        finally
        {
            if (fleet is not null)
            {
                await fleet.DisposeAsync().ConfigureAwait(false);
            }
            await CloseAsync(context, first).ConfigureAwait(false);
        }
    }

    /// <summary>A burst of progress events on one process: time until every client has seen the last one.</summary>
    public async Task<Dictionary<string, double>> FinalStateAsync(BenchContext context, int connections, int events)
    {
        var fleet = await ConnectAsync(context, connections).ConfigureAwait(false);
        try
        {
            fleet.ResetCounters();
            long first = context.NextIndex;
            context.NextIndex += events;
            var done = fleet.SetTarget(first + events - 1);
            double cpu0 = ProcStats.CpuSeconds(context.Target.Pid);
            long start = MonotonicClock.Now;
            long published = 0;
            long deadline = start + MonotonicClock.FromSeconds(_options.FinalTimeoutSeconds);
            bool allPublished = false;
            await RunBlocking(() =>
            {
                // Bounded: a server that takes the burst slower than the timeout is cut off and reported so.
                allPublished = context.Publisher.Burst(first, events, deadline);
                published = MonotonicClock.Now;
            }).ConfigureAwait(false);
            double remaining = Math.Max(0.1, MonotonicClock.ToSeconds(deadline - MonotonicClock.Now));
            bool complete = allPublished && await WaitAsync(done, TimeSpan.FromSeconds(remaining)).ConfigureAwait(false);
            long end = complete ? fleet.DoneAt : MonotonicClock.Now;
            double cpu = ProcStats.CpuSeconds(context.Target.Pid) - cpu0;
            return new()
            {
                ["time_to_final_s"] = MonotonicClock.ToSeconds(end - start),
                ["publish_s"] = MonotonicClock.ToSeconds(published - start),
                ["frames_delivered"] = fleet.Delivered,
                ["frames_per_client"] = fleet.Delivered / (double)connections,
                ["server_cpu_s"] = cpu,
                ["complete"] = complete ? 1 : 0,
                ["clients_done"] = fleet.DoneCount,
            };
        }
        finally
        {
            await CloseAsync(context, fleet).ConfigureAwait(false);
        }
    }

    /// <summary>Open files the server and the tool need beyond a storm's clients: listeners, publishers, logs, the runtime's own.</summary>
    private const int SpareFiles = 256;

    /// <summary>
    /// The connection storm against one server: <paramref name="connections"/> clients connect at once
    /// (<see cref="ConnectionStorm"/>), each sending the upgrade request of its user (<paramref name="requests"/>,
    /// round-robin) and waiting for the first message; connections/s is the clients over the time from the first
    /// connect to the last first message. A point the open-files limit of the server or of this tool cannot hold is
    /// not run: its values say so (<c>not_run</c>) with both limits and what was needed. <paramref name="close"/>
    /// runs after the clients are closed (it waits for the server to let go of them).
    /// </summary>
    public async Task<Dictionary<string, double>> StormAsync(TargetServer server, byte[][] requests, int connections, Func<Task> close)
    {
        int pid = server.Pid;
        int self = Environment.ProcessId;
        long serverLimit = ProcStats.OpenFilesLimit(pid);
        long toolLimit = ProcStats.OpenFilesLimit(self);
        long serverNeeds = connections + ProcStats.OpenFiles(pid) + SpareFiles;
        long toolNeeds = connections + ProcStats.OpenFiles(self) + SpareFiles;
        if (serverNeeds > serverLimit || toolNeeds > toolLimit)
        {
            return new()
            {
                ["not_run"] = 1,
                ["server_open_files_limit"] = serverLimit,
                ["server_open_files_needed"] = serverNeeds,
                ["tool_open_files_limit"] = toolLimit,
                ["tool_open_files_needed"] = toolNeeds,
            };
        }
        // About 28,000 ephemeral ports per source address towards one server port: more clients, more addresses.
        int sources = _options.StormSources > 0 ? _options.StormSources : (int)Math.Ceiling(connections / (0.8 * ProcStats.EphemeralPorts()));
        var storm = new ConnectionStorm(server.EndPoint, requests, connections, sources);
        try
        {
            long overflows0 = ProcStats.TcpExtCounter("ListenOverflows");
            double serverCpu0 = ProcStats.CpuSeconds(pid);
            var (toolUser0, toolKernel0) = ProcStats.CpuSplit(self);
            long start = await storm.RunAsync(_options.StormParallel, TimeSpan.FromSeconds(_options.StormTimeoutSeconds)).ConfigureAwait(false);
            long end = storm.LastDone > 0 ? storm.LastDone : MonotonicClock.Now;
            var (toolUser1, toolKernel1) = ProcStats.CpuSplit(self);
            double toolKernel = toolKernel1 - toolKernel0;
            double toolCpu = toolUser1 - toolUser0 + toolKernel;
            double serverCpu = ProcStats.CpuSeconds(pid) - serverCpu0;
            double seconds = MonotonicClock.ToSeconds(end - start);
            var latency = storm.TimeToFirstMessage;
            return new()
            {
                ["connections_per_s"] = storm.Succeeded / seconds,
                ["storm_s"] = seconds,
                ["first_message_p50_ms"] = latency.Percentile(0.50) / 1e6,
                ["first_message_p99_ms"] = latency.Percentile(0.99) / 1e6,
                ["first_message_max_ms"] = latency.Max / 1e6,
                ["succeeded"] = storm.Succeeded,
                ["failed_connections"] = storm.Failed,
                ["retries"] = storm.Retries,
                ["listen_overflows"] = ProcStats.TcpExtCounter("ListenOverflows") - overflows0,
                ["server_cpu_s"] = serverCpu,
                ["server_cpu_share"] = serverCpu / seconds,
                ["tool_cpu_share"] = toolCpu / seconds,
                ["tool_kernel_cpu_share"] = toolKernel / seconds,
                ["in_flight"] = Math.Min(_options.StormParallel, connections),
                ["source_addresses"] = Math.Max(1, sources),
            };
        }
        finally
        {
            storm.Dispose();
            await close().ConfigureAwait(false);
            await WaitForQuietAsync(pid).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits 1.5 s, then (at most 10 s more) until the server used under 5% of a core over 200 ms: the teardown of a
    /// storm's tens of thousands of connections, and the full GC it may set off (ProcessHub reclaims a storm's memory
    /// once openings have paused for 1 s), are over before the next server is measured on the same core.
    /// </summary>
    private static async Task WaitForQuietAsync(int pid)
    {
        await Task.Delay(1500).ConfigureAwait(false);
        long deadline = MonotonicClock.Now + MonotonicClock.FromSeconds(10);
        while (MonotonicClock.Now < deadline)
        {
            double cpu0 = ProcStats.CpuSeconds(pid);
            await Task.Delay(200).ConfigureAwait(false);
            if (ProcStats.CpuSeconds(pid) - cpu0 < 0.01)
            {
                return;
            }
        }
    }

    /// <summary>The storm against a server under test (its fleet of connections closed and awaited after).</summary>
    public Task<Dictionary<string, double>> StormAsync(BenchContext context, byte[][] requests, int connections) =>
        StormAsync(context.Target, requests, connections, () => context.WaitForNoConnectionsAsync(TimeSpan.FromSeconds(30)));

    /// <summary>The storm against the raw sender, which answers each upgrade with the 101 and a hello in one send: the tool's own ceiling.</summary>
    public Task<Dictionary<string, double>> StormRawAsync(TargetServer raw, byte[][] requests, int connections) =>
        StormAsync(raw, requests, connections, () =>
        {
            using var http = new RawHttpConnection(raw.EndPoint);
            http.Send("POST", "/close", null, ReadOnlySpan<byte>.Empty);
            return Task.CompletedTask;
        });

    /// <summary>The load tool's own ceiling: frames/s it reads from the raw sender, which joins 16 frames per send.</summary>
    public async Task<Dictionary<string, double>> CalibrateAsync(TargetServer raw, int connections)
    {
        int perConnection = Math.Clamp(2_000_000 / connections, 64, 200_000);
        var fleet = new Fleet(raw.EndPoint, "/ws", expectWelcome: false);
        await fleet.ConnectAsync(connections, _options.ConnectParallelism, BufferSize(connections), ConnectTimeout).ConfigureAwait(false);
        try
        {
            fleet.ResetCounters();
            // Recorded like the throughput scenario's latency (not reported), so the ceiling includes that cost.
            fleet.RecordFromTs = 0;
            var done = fleet.SetTarget(perConnection);
            long start = MonotonicClock.Now;
            await RunBlocking(() =>
            {
                using var http = new RawHttpConnection(raw.EndPoint);
                http.Send("POST", "/blast", null, System.Text.Encoding.ASCII.GetBytes($"1 {perConnection}"));
            }).ConfigureAwait(false);
            bool complete = await WaitAsync(done, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            long end = complete ? fleet.DoneAt : MonotonicClock.Now;
            return new()
            {
                ["frames_per_s"] = fleet.Delivered / MonotonicClock.ToSeconds(end - start),
                ["frames"] = fleet.Delivered,
                ["complete"] = complete ? 1 : 0,
            };
        }
        finally
        {
            await fleet.DisposeAsync().ConfigureAwait(false);
            using var http = new RawHttpConnection(raw.EndPoint);
            http.Send("POST", "/close", null, ReadOnlySpan<byte>.Empty);
        }
    }
}
