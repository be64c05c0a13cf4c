using System.Globalization;
using System.Net;
using System.Text.Json;
using ProcessHub.Benchmarks.Durable;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>
/// The numbers of issue 11 in one invocation: a redis-server (append-only, fsync always) and five real hubs started
/// by this tool: the cluster (three hubs on that Redis), a lone hub on the same Redis under a prefix of its own, and a
/// lone hub with the memory store. Ingest, delivery latency and fan-out alternate between the three deployments run
/// by run (the first rotates); the failover kills the cluster's hub 2 with SIGKILL and starts it again, once per run.
/// Every scenario is bounded in time.
/// </summary>
internal sealed class ScaleOutRunner
{
    public const string Cluster = "cluster";
    public const string LoneRedis = "lone-redis";
    public const string LoneMemory = "lone-memory";
    private readonly ScaleOutOptions _options;
    private readonly List<Sample> _samples = [];
    private readonly string _work;
    private readonly Dictionary<(string, int), BenchContext> _contexts = [];
    private RedisServerProcess _redis = null!;
    private Deployment _cluster = null!;
    private Deployment _loneRedis = null!;
    private Deployment _loneMemory = null!;

    public ScaleOutRunner(ScaleOutOptions options)
    {
        _options = options;
        _work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"processhub-scaleout-{Environment.ProcessId}");
    }

    private IEnumerable<Deployment> Deployments => new[] { _cluster, _loneRedis, _loneMemory }.Where(d => _options.HasDeployment(d.Name));

    public async Task<int> RunAsync()
    {
        long started = MonotonicClock.Now;
        _options.LoadAverageAtStart = BenchOptions.ReadLoadAverage();
        Directory.CreateDirectory(_work);
        if (!_options.Keep)
        {
            ChildProcesses.TrackDirectory(_work); // a signal that ends the run removes it too (as the end of the run does)
        }
        var hubs = new List<HubBinary>();
        try
        {
            _redis = await RedisServerProcess.StartAsync(_options.RedisServer, Path.Combine(_work, "redis"), _options.RedisCpus).ConfigureAwait(false);
            RunSupport.Log($"redis-server on port {_redis.Port} (pid {_redis.Pid}), appendonly yes, appendfsync always");
            for (int i = 1; i <= 3; i++)
            {
                hubs.Add(await StartClusterHubAsync(i).ConfigureAwait(false));
            }
            var loneRedis = await StartHubAsync(LoneRedis, ["--redis", _redis.Configuration, "--redis-prefix", "lone:"]).ConfigureAwait(false);
            hubs.Add(loneRedis);
            var loneMemory = await StartHubAsync(LoneMemory, []).ConfigureAwait(false);
            hubs.Add(loneMemory);
            _cluster = new Deployment(Cluster, onRedis: true, hubs[0], hubs[1], hubs[2]);
            _loneRedis = new Deployment(LoneRedis, onRedis: true, loneRedis);
            _loneMemory = new Deployment(LoneMemory, onRedis: false, loneMemory);

            await WarmUpAsync().ConfigureAwait(false);
            if (_options.Has("ingest"))
            {
                foreach (string fsync in _options.IngestFsync)
                {
                    await _redis.SetFsyncAsync(fsync).ConfigureAwait(false);
                    foreach (int producers in _options.IngestProducers)
                    {
                        await AlternateAsync("ingest", producers, ScaleOutOptions.IngestPoint(fsync), _options.Runs, d => IngestAsync(d, producers, _options.IngestSeconds)).ConfigureAwait(false);
                    }
                }
                await _redis.SetFsyncAsync("always").ConfigureAwait(false);
            }
            if (_options.Has("latency"))
            {
                foreach (string fsync in _options.LatencyFsync)
                {
                    await _redis.SetFsyncAsync(fsync).ConfigureAwait(false);
                    foreach (int n in _options.LatencyConnections)
                    {
                        await AlternateAsync("latency", n, _options.LatencyPoint(fsync), _options.LatencyRuns, d => LatencyAsync(d, n)).ConfigureAwait(false);
                    }
                }
                await _redis.SetFsyncAsync("always").ConfigureAwait(false);
            }
            if (_options.Has("fanout"))
            {
                foreach (int publishers in _options.FanOutPublishers)
                {
                    foreach (int n in _options.FanOutEach)
                    {
                        await AlternateAsync("fanout", n, FanOutPoint("each", publishers), _options.Runs,
                            d => FanOutAsync(d, Context(d, publishers), d.Hubs, n, _options.FanOutSeconds)).ConfigureAwait(false);
                    }
                    foreach (int n in _options.FanOutOne)
                    {
                        // The cluster's subscribers on hub 2 only (the events come to it from Redis); a lone hub's on itself.
                        await AlternateAsync("fanout", n, FanOutPoint("one", publishers), _options.Runs,
                            d => FanOutAsync(d, Context(d, publishers), d.Hubs.Count > 1 ? [d.Hubs[1]] : d.Hubs, n, _options.FanOutSeconds)).ConfigureAwait(false);
                    }
                }
            }
            if (_options.Has("failover"))
            {
                for (int run = 1; run <= _options.FailoverRuns; run++)
                {
                    RunSupport.Log($"failover run {run}: {_options.FailoverTabs:N0} tabs on hub 2, SIGKILL");
                    try
                    {
                        Add(new Sample("failover", Cluster, _options.FailoverTabs, "kill -9 hub 2", run, await FailoverAsync().ConfigureAwait(false)));
                    }
                    catch (Exception ex) when (RunSupport.IsRunFailure(ex))
                    {
                        RunSupport.Log($"  failed: {ex.GetType().Name}: {ex.Message}");
                        Add(new Sample("failover", Cluster, _options.FailoverTabs, "kill -9 hub 2", run, new() { ["failed"] = 1 }));
                    }
                    await RestartHub2Async().ConfigureAwait(false);
                }
            }
            Add(new Sample("redis", "redis", 0, "session", 1, new()
            {
                ["aof_rewrites"] = await _redis.InfoValueAsync("persistence", "aof_rewrites").ConfigureAwait(false),
                ["aof_mib"] = await _redis.InfoValueAsync("persistence", "aof_current_size").ConfigureAwait(false) / 1048576,
                ["used_memory_mib"] = await _redis.InfoValueAsync("memory", "used_memory").ConfigureAwait(false) / 1048576,
            }));
        }
        finally
        {
            foreach (var context in _contexts.Values)
            {
                context.Dispose();
            }
            foreach (var hub in (_cluster?.Hubs ?? []).Concat(hubs).Distinct())
            {
                await hub.DisposeAsync().ConfigureAwait(false);
            }
            if (_redis is not null)
            {
                await _redis.DisposeAsync().ConfigureAwait(false);
            }
            if (!_options.Keep)
            {
                ChildProcesses.ForgetDirectory(_work);
                RunSupport.TryDelete(_work);
            }
        }
        double elapsed = MonotonicClock.ToSeconds(MonotonicClock.Now - started);
        _options.LoadAverageAtEnd = BenchOptions.ReadLoadAverage();
        RunSupport.Log($"done in {elapsed:F0} s");
        await RunResults.WriteAsync(_samples, _options.JsonPath, _options.MarkdownPath, new ScaleOutReport(_options, _samples, elapsed).Render, ScaleOutReport.WriteBetweenMarkers).ConfigureAwait(false);
        return RunResults.ExitCode(_samples);
    }

    public static string FanOutPoint(string where, int publishers) => $"{(where == "each" ? "on each hub" : "on one hub")}, {publishers} publishers";

    private Task<HubBinary> StartClusterHubAsync(int index) =>
        StartHubAsync($"hub{index}", ["--redis", _redis.Configuration]);

    private Task<HubBinary> StartHubAsync(string name, string[] extra) =>
        HubBinary.StartAsync(name, _options.HubDll, "memory", null, _options.Secret, _options.HubCpus, Path.Combine(_work, $"{name}.log"), extra);

    /// <summary>A publishing context per deployment and connection count: one process of user "load" created through the first hub.</summary>
    private BenchContext Context(Deployment deployment, int publishers)
    {
        if (!_contexts.TryGetValue((deployment.Name, publishers), out var context))
        {
            context = BenchContext.Create(deployment.First.Target, _options.Secret, publishers);
            _contexts[(deployment.Name, publishers)] = context;
        }
        return context;
    }

    /// <summary>
    /// Unrecorded rounds of fan-out bursts (1,000 subscribers on every hub) and HTTP ingest for each deployment,
    /// alternating, so that no hub is timed while its tiered JIT still compiles the paths (docs/benchmarks.md, "Warm-up").
    /// </summary>
    private async Task WarmUpAsync()
    {
        if (_options.WarmupSeconds <= 0 || _options.WarmupRounds <= 0)
        {
            return;
        }
        double seconds = _options.WarmupSeconds / _options.WarmupRounds;
        int n = Math.Min(1_000, _options.FanOutEach.Concat(_options.FanOutOne).DefaultIfEmpty(1_000).Min());
        var deployments = Deployments.ToList();
        for (int round = 1; round <= _options.WarmupRounds; round++)
        {
            for (int i = 0; i < deployments.Count; i++)
            {
                var deployment = deployments[(i + round - 1) % deployments.Count];
                RunSupport.Log($"warm-up round {round}/{_options.WarmupRounds} (not recorded): {deployment}");
                try
                {
                    RunSupport.Log("  fan-out " + RunSupport.Format(await FanOutAsync(deployment, Context(deployment, _options.FanOutPublishers.Max()), deployment.Hubs, n, seconds).ConfigureAwait(false)));
                    RunSupport.Log("  ingest " + RunSupport.Format(await IngestAsync(deployment, 6, seconds).ConfigureAwait(false)));
                }
                catch (Exception ex) when (RunSupport.IsRunFailure(ex))
                {
                    RunSupport.Log($"  failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }
    }

    /// <summary>
    /// Closed-loop HTTP producers (one process and keep-alive connection each), spread round-robin over the
    /// deployment's hubs: acknowledged reports a second, the hubs' and Redis's CPU, the scripts' time in Redis and its
    /// longest fsync.
    /// </summary>
    private async Task<Dictionary<string, double>> IngestAsync(Deployment deployment, int producers, double seconds)
    {
        var ingests = new List<HttpIngest>();
        try
        {
            for (int h = 0; h < deployment.Hubs.Count; h++)
            {
                int share = producers / deployment.Hubs.Count + (h < producers % deployment.Hubs.Count ? 1 : 0);
                if (share > 0)
                {
                    ingests.Add(new HttpIngest(deployment.Hubs[h].Target, _options.Secret, share, "ingest"));
                }
            }
            var meter = await ResourceMeter.StartAsync(deployment, _redis).ConfigureAwait(false);
            long start = MonotonicClock.Now + MonotonicClock.FromSeconds(0.05);
            long end = start + MonotonicClock.FromSeconds(seconds);
            var runs = ingests.Select(ingest => Task.Factory.StartNew(() => ingest.Run(start, end), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToList();
            var perHub = await Task.WhenAll(runs).ConfigureAwait(false);
            var values = await meter.StopAsync(seconds).ConfigureAwait(false);
            long[] perSecond = new long[perHub.Max(p => p.Length)];
            foreach (long[] counts in perHub)
            {
                for (int s = 0; s < counts.Length; s++)
                {
                    perSecond[s] += counts[s];
                }
            }
            int whole = Math.Max(1, (int)Math.Floor(seconds));
            var ack = LatencyHistogram.Merge(ingests.Select(i => i.AckLatency));
            values["events_per_s"] = perSecond.Sum() / seconds;
            values["lowest_second"] = perSecond.Take(whole).Min();
            values["ack_p50_us"] = ack.Percentile(0.50) / 1e3;
            values["ack_p99_us"] = ack.Percentile(0.99) / 1e3;
            values["ack_max_us"] = ack.Max / 1e3;
            values["errors"] = ingests.Sum(i => i.Errors);
            if (values["events_per_s"] > 0)
            {
                values["hub_cpu_us_per_event"] = values["hub_cpu_share"] * 1e6 / values["events_per_s"];
                values["hub_switches_per_event"] = values["hub_switches_per_s"] / values["events_per_s"];
            }
            return values;
        }
        finally
        {
            ingests.ForEach(i => i.Dispose());
        }
    }

    /// <summary>
    /// Open-loop reports at a fixed rate through the first hub, N subscribers (one user) on every hub of the deployment;
    /// latency from each event's scheduled send time to its receipt, on the publishing hub and on the others apart.
    /// </summary>
    private async Task<Dictionary<string, double>> LatencyAsync(Deployment deployment, int n)
    {
        var context = Context(deployment, 4);
        var fleets = new List<Fleet>();
        using var publisher = new Publisher(deployment.First.Target, _options.LatencyPublishers, context.PublishPath, context.ProducerToken);
        try
        {
            foreach (var hub in deployment.Hubs)
            {
                var fleet = new Fleet(hub.Target.EndPoint, context.UpgradePath, expectWelcome: true);
                fleets.Add(fleet);
                await fleet.ConnectAsync(n, 128, 32 * 1024, TimeSpan.FromSeconds(90)).ConfigureAwait(false);
            }
            var meter = await ResourceMeter.StartAsync(deployment, _redis).ConfigureAwait(false);
            long first = context.NextIndex;
            long start = MonotonicClock.Now + MonotonicClock.FromSeconds(0.05);
            long end = start + MonotonicClock.FromSeconds(_options.LatencySeconds);
            foreach (var fleet in fleets)
            {
                fleet.ResetCounters();
                // The first half second warms the path up and is not recorded.
                fleet.RecordFromTs = start + MonotonicClock.FromSeconds(0.5);
            }
            long sent = 0;
            await RunBlocking(() => sent = publisher.Paced(first, _options.LatencyRate, start, end)).ConfigureAwait(false);
            context.NextIndex = first + sent + 1;
            bool complete = sent > 0 && await WaitAllAsync(fleets.Select(f => f.SetTarget(first + sent - 1)), TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            await Task.Delay(100).ConfigureAwait(false);
            var values = await meter.StopAsync(_options.LatencySeconds).ConfigureAwait(false);
            values["sent_per_s"] = sent / MonotonicClock.ToSeconds(end - start);
            values["late_send_fraction"] = sent > 0 ? publisher.LateSends / (double)sent : 0;
            values["delivered_fraction"] = sent > 0 ? fleets.Min(f => f.Delivered) / ((double)sent * n) : 0;
            values["complete"] = complete ? 1 : 0;
            AddLatency(values, "", fleets[0].Latency);
            if (fleets.Count > 1)
            {
                AddLatency(values, "other_", LatencyHistogram.Merge(fleets.Skip(1).Select(f => f.Latency)));
                AddLatency(values, "all_", LatencyHistogram.Merge(fleets.Select(f => f.Latency)));
            }
            return values;
        }
        finally
        {
            await CloseAsync(fleets).ConfigureAwait(false);
        }
    }

    private static void AddLatency(Dictionary<string, double> values, string prefix, LatencyHistogram latency)
    {
        values[prefix + "p50_us"] = latency.Percentile(0.50) / 1e3;
        values[prefix + "p99_us"] = latency.Percentile(0.99) / 1e3;
        values[prefix + "p999_us"] = latency.Percentile(0.999) / 1e3;
        values[prefix + "max_us"] = latency.Max / 1e3;
        values[prefix + "samples"] = latency.Count;
    }

    /// <summary>
    /// The fan-out comparison's throughput scenario across hubs: bursts of events through the first hub (pipelined 8
    /// deep on each publishing connection), N subscribers on each of <paramref name="subscribed"/>, the next burst once
    /// every subscriber of every hub has the last event. Deliveries a second per hub, and per CPU-second of that hub.
    /// </summary>
    private async Task<Dictionary<string, double>> FanOutAsync(Deployment deployment, BenchContext context, List<HubBinary> subscribed, int n, double durationSeconds)
    {
        var fleets = new List<Fleet>();
        try
        {
            foreach (var hub in subscribed)
            {
                var fleet = new Fleet(hub.Target.EndPoint, context.UpgradePath, expectWelcome: true);
                fleets.Add(fleet);
                await fleet.ConnectAsync(n, 128, n >= 5_000 ? 8 * 1024 : 32 * 1024, TimeSpan.FromSeconds(90)).ConfigureAwait(false);
            }
            int burst = Scenarios.BurstSize(n);
            long errors0 = context.Publisher.Errors;
            fleets.ForEach(f => f.ResetCounters());
            var frames0 = subscribed.Select(h => StoreMetrics.Read(h.Target.EndPoint)).ToList();
            var cpu0 = subscribed.Select(h => ProcStats.CpuSeconds(h.Pid)).ToList();
            var meter = await ResourceMeter.StartAsync(deployment, _redis).ConfigureAwait(false);
            long start = MonotonicClock.Now;
            long duration = MonotonicClock.FromSeconds(durationSeconds);
            long events = 0;
            int timeouts = 0;
            for (int bursts = 0; bursts < 100_000 && MonotonicClock.Now - start < duration; bursts++)
            {
                long first = context.NextIndex;
                context.NextIndex += burst;
                var done = fleets.Select(f => f.SetTarget(first + burst - 1)).ToList();
                await RunBlocking(() => context.Publisher.Burst(first, burst)).ConfigureAwait(false);
                events += burst;
                if (!await WaitAllAsync(done, TimeSpan.FromSeconds(30)).ConfigureAwait(false))
                {
                    timeouts++;
                    break;
                }
            }
            double seconds = MonotonicClock.ToSeconds(MonotonicClock.Now - start);
            var values = await meter.StopAsync(seconds).ConfigureAwait(false);
            var perHub = new List<double>();
            var perCpu = new List<double>();
            var framesPerSend = new List<double>();
            for (int i = 0; i < fleets.Count; i++)
            {
                double delivered = fleets[i].Delivered;
                double cpu = ProcStats.CpuSeconds(subscribed[i].Pid) - cpu0[i];
                var frames1 = StoreMetrics.Read(subscribed[i].Target.EndPoint);
                double sends = frames1.Sends - frames0[i].Sends;
                perHub.Add(delivered / seconds);
                perCpu.Add(cpu > 0 ? delivered / cpu : 0);
                framesPerSend.Add(sends > 0 ? (frames1.FramesSent - frames0[i].FramesSent) / sends : 0);
                values[$"deliveries_per_s_{subscribed[i].Name}"] = delivered / seconds;
            }
            // A hub that neither takes the reports nor has subscribers (hub 3 when only hub 2 has them) only applies
            // each event: its CPU per event is the engine's cost of keeping a hub's view, apart from any fan-out.
            foreach (var hub in deployment.Hubs.Skip(1).Where(h => !subscribed.Contains(h)))
            {
                values["applying_hub_cpu_us_per_event"] = events > 0 ? values[$"hub_cpu_share_{hub.Name}"] * seconds * 1e6 / events : 0;
            }
            values["deliveries_per_s_per_hub"] = perHub.Average();
            values["deliveries_per_s_lowest_hub"] = perHub.Min();
            values["deliveries_per_s"] = perHub.Sum();
            values["deliveries_per_cpu_s"] = perCpu.Average();
            values["frames_per_send"] = framesPerSend.Average();
            values["events_per_s"] = events / seconds;
            values["delivered_fraction"] = fleets.Min(f => f.Delivered) / ((double)events * n);
            values["burst"] = burst;
            values["timeouts"] = timeouts;
            values["publish_errors"] = context.Publisher.Errors - errors0;
            return values;
        }
        finally
        {
            await CloseAsync(fleets).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// docs/protocol.md 11.6 over real binaries: M tabs of one user on hub 2 follow a process driven over HTTP through
    /// hub 1 (and see a benchmark run by hub 2's in-process runner); hub 2 is killed with SIGKILL; each tab reconnects at
    /// once to hub 1 or hub 3 (round-robin, as a load balancer would send it) and resumes with subscribe + since +
    /// epoch. Times from the kill: every tab resumed (<c>subscribed</c>, recovered), every tab caught up (holds every
    /// seq up to the one the reply showed), and the benchmark run ended with <c>hub_lost</c>.
    /// </summary>
    private async Task<Dictionary<string, double>> FailoverAsync()
    {
        var hub1 = _cluster.Hubs[0];
        var hub2 = _cluster.Hubs[1];
        var hub3 = _cluster.Hubs[2];
        string token = Tokens.Issue(_options.Secret, "tabs", producer: false);
        using var reporter = new RawHttpConnection(hub1.Target.EndPoint);
        string followed = Create(reporter, "/api/processes", token, """{"process_type":"failover","total":1000000}""", 201);
        using (var starter = new RawHttpConnection(hub2.Target.EndPoint))
        {
            // Hub 2's own in-process runner: 1,000 steps of about 0.5 s, far longer than the scenario.
            string body = """{"models":["GPT-4o"],"runs":1000,"contexts":["1K"],"step_ms":500}""";
            _inProcess = Create(starter, "/api/benchmark", token, body, 202);
        }
        using var stop = new CancellationTokenSource();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.FailoverTimeoutSeconds + 30));
        var tabs = Enumerable.Range(0, _options.FailoverTabs).Select(_ => new FailoverTab(token, followed, _inProcess)).ToList();
        var observer = new FailoverTab(token, followed, _inProcess);
        long reported = 0;
        Thread? reporting = null;
        try
        {
            await observer.ConnectAsync(hub1.Target.EndPoint, timeout.Token).ConfigureAwait(false);
            var loops = new Task[tabs.Count];
            using (var handshakes = new SemaphoreSlim(64))
            {
                await Task.WhenAll(tabs.Select(async (tab, i) =>
                {
                    await handshakes.WaitAsync(timeout.Token).ConfigureAwait(false);
                    try
                    {
                        // The scenario's token, not a per-call one: the receive loop lives on after the connect.
                        loops[i] = await tab.ConnectAsync(hub2.Target.EndPoint, timeout.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        handshakes.Release();
                    }
                })).ConfigureAwait(false);
            }

            // The followed process moves through hub 1 all along: the tabs miss events while they are away.
            double period = 1e9 / _options.FailoverReportRate;
            reporting = new Thread(() =>
            {
                long begin = MonotonicClock.Now;
                for (long k = 1; !stop.IsCancellationRequested; k++)
                {
                    MonotonicClock.SleepUntil(begin + (long)(k * period));
                    try
                    {
                        if (reporter.Send("POST", $"/api/processes/{followed}/progress", token, 256, span => HttpIngest.WriteProgress(span, k)) is >= 200 and <= 299)
                        {
                            Interlocked.Increment(ref reported);
                        }
                    }
                    catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
                    {
                        reporter.Reset();
                    }
                }
            }) { IsBackground = true, Name = "failover-reporter" };
            reporting.Start();
            // Every tab holds a few events of it before the kill.
            long deadline = MonotonicClock.Now + MonotonicClock.FromSeconds(20);
            while (tabs.Any(t => t.LastSeq < 3) && MonotonicClock.Now < deadline)
            {
                await Task.Delay(20).ConfigureAwait(false);
            }

            long killed = MonotonicClock.Now;
            await hub2.KillAsync().ConfigureAwait(false);
            var survivors = new[] { hub1.Target.EndPoint, hub3.Target.EndPoint };
            var resumes = tabs.Select((tab, i) => ResumeAfterLossAsync(tab, loops[i], survivors[i % 2], timeout.Token)).ToList();
            var resumed = Task.WhenAll(resumes);
            await Task.WhenAny(resumed, Task.Delay(TimeSpan.FromSeconds(_options.FailoverTimeoutSeconds))).ConfigureAwait(false);
            // Caught up, and the run of hub 2 ended with hub_lost (one lease, 5 s, plus the reaping), bounded.
            deadline = killed + MonotonicClock.FromSeconds(_options.FailoverTimeoutSeconds);
            while ((tabs.Any(t => t.CaughtUpAt == 0 && t.Failure is null) || observer.HubLostAt == 0 || tabs.Any(t => t.HubLostAt == 0 && t.ResumedAt != 0))
                && MonotonicClock.Now < deadline)
            {
                await Task.Delay(20).ConfigureAwait(false);
            }
            var values = new Dictionary<string, double>
            {
                ["tabs"] = tabs.Count,
                ["lost"] = tabs.Count(t => t.LostAt != 0),
                ["resumed"] = tabs.Count(t => t.ResumedAt != 0),
                ["recovered"] = tabs.Count(t => t.Recovered == true),
                ["caught_up"] = tabs.Count(t => t.CaughtUpAt != 0),
                ["epoch_changed"] = tabs.Count(t => t.EpochChanged),
                ["errors"] = tabs.Count(t => t.Failure is not null),
                ["saw_hub_lost"] = tabs.Count(t => t.HubLostAt != 0),
                ["replayed_mean"] = tabs.Average(t => (double)t.Replayed),
                ["reconnect_attempts_mean"] = tabs.Average(t => (double)t.ReconnectAttempts),
                ["reports_per_s"] = _options.FailoverReportRate,
            };
            AddTimes(values, "loss_detected", tabs.Select(t => t.LostAt), killed);
            AddTimes(values, "resumed", tabs.Select(t => t.ResumedAt), killed);
            AddTimes(values, "caught_up", tabs.Select(t => t.CaughtUpAt), killed);
            if (observer.HubLostAt != 0)
            {
                values["hub_lost_s"] = MonotonicClock.ToSeconds(observer.HubLostAt - killed);
            }
            AddTimes(values, "tabs_hub_lost", tabs.Select(t => t.HubLostAt), killed);
            return values;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            reporting?.Join();
            observer.Dispose();
            tabs.ForEach(t => t.Dispose());
            await WaitForNoConnectionsAsync([hub1.Target.EndPoint, hub3.Target.EndPoint]).ConfigureAwait(false);
        }
    }

    private string _inProcess = "";

    private static async Task ResumeAfterLossAsync(FailoverTab tab, Task loop, IPEndPoint survivor, CancellationToken cancel)
    {
        await loop.ConfigureAwait(false);
        tab.MarkLost(MonotonicClock.Now);
        await tab.ResumeAsync(survivor, cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// p50 and max (the last of them) of times from <paramref name="from"/>, in seconds; the max only when every one
    /// happened (a tab that never got there has no time, and the "all" time does not exist).
    /// </summary>
    private static void AddTimes(Dictionary<string, double> values, string name, IEnumerable<long> times, long from)
    {
        var all = times.ToList();
        var seconds = all.Where(t => t != 0).Select(t => MonotonicClock.ToSeconds(t - from)).Order().ToList();
        if (seconds.Count > 0)
        {
            values[name + "_p50_s"] = seconds[seconds.Count / 2];
        }
        if (seconds.Count == all.Count && seconds.Count > 0)
        {
            values[name + "_max_s"] = seconds[^1];
        }
    }

    private static string Create(RawHttpConnection http, string path, string token, string body, int expected)
    {
        int status = http.Send("POST", path, token, System.Text.Encoding.UTF8.GetBytes(body));
        if (status != expected)
        {
            throw new InvalidOperationException($"POST {path} answered {status}: {http.LastBodyText}");
        }
        using var created = JsonDocument.Parse(http.LastBodyText);
        return created.RootElement.GetProperty("process_id").GetString()!;
    }

    private async Task RestartHub2Async()
    {
        var dead = _cluster.Hubs[1];
        await dead.DisposeAsync().ConfigureAwait(false);
        _cluster.Hubs[1] = await StartClusterHubAsync(2).ConfigureAwait(false);
    }

    private async Task AlternateAsync(string scenario, int n, string point, int runs, Func<Deployment, Task<Dictionary<string, double>>> measure)
    {
        var deployments = Deployments.ToList();
        for (int run = 1; run <= runs; run++)
        {
            for (int i = 0; i < deployments.Count; i++)
            {
                var deployment = deployments[(i + run - 1) % deployments.Count];
                RunSupport.Log($"{scenario} N={n} {point} run {run}: {deployment}");
                try
                {
                    Add(new Sample(scenario, deployment.Name, n, point, run, await measure(deployment).ConfigureAwait(false)));
                }
                catch (Exception ex) when (RunSupport.IsRunFailure(ex))
                {
                    RunSupport.Log($"  failed: {ex.GetType().Name}: {ex.Message}");
                    Add(new Sample(scenario, deployment.Name, n, point, run, new() { ["failed"] = 1 }));
                }
            }
        }
    }

    private static Task RunBlocking(Action action) => Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task<bool> WaitAllAsync(IEnumerable<Task> signals, TimeSpan timeout)
    {
        try
        {
            await Task.WhenAll(signals).WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static async Task CloseAsync(List<Fleet> fleets)
    {
        foreach (var fleet in fleets)
        {
            await fleet.DisposeAsync().ConfigureAwait(false);
        }
        await WaitForNoConnectionsAsync(fleets.Select(f => f.EndPoint)).ConfigureAwait(false);
    }

    /// <summary>Waits (bounded) until every hub has let go of the last scenario's WebSockets (its /metrics).</summary>
    private static async Task WaitForNoConnectionsAsync(IEnumerable<IPEndPoint> hubs)
    {
        long deadline = MonotonicClock.Now + MonotonicClock.FromSeconds(20);
        foreach (var hub in hubs.Distinct())
        {
            while (MonotonicClock.Now < deadline && OpenConnections(hub) > 0)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    private static long OpenConnections(IPEndPoint hub)
    {
        using var http = new RawHttpConnection(hub);
        http.Send("GET", "/metrics", null, ReadOnlySpan<byte>.Empty);
        foreach (var line in http.LastBodyText.Split('\n'))
        {
            if (line.StartsWith("processhub_websocket_connections ", StringComparison.Ordinal))
            {
                return (long)double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
            }
        }
        return -1;
    }

    private void Add(Sample sample)
    {
        _samples.Add(sample);
        RunSupport.Log("  " + RunSupport.Format(sample.Values));
    }
}
