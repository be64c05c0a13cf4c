using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ProcessHub.Auth;
using ProcessHub.Benchmarks.Load;
using ProcessHub.Hub;
using ProcessHub.Server;
using ProcessHub.Storage;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// The durable store against the memory store, in one invocation: two real hubs (one per store) started by this
/// tool, driven alternately run by run (the first rotates), for fan-out, delivery latency (with and without a
/// background ingest that keeps the checkpointer busy) and HTTP ingest; then ingest in process and the restart
/// of a filled store. Every scenario is bounded in time.
/// </summary>
internal sealed class DurableRunner
{
    public const string Memory = "memory";
    public const string Sqlite = "sqlite";
    private readonly DurableOptions _options;
    private readonly List<Sample> _samples = [];
    private readonly Scenarios _scenarios;
    private readonly string _work;

    public DurableRunner(DurableOptions options)
    {
        _options = options;
        _scenarios = new Scenarios(new BenchOptions
        {
            ThroughputSeconds = options.FanOutSeconds,
            LatencySeconds = options.LatencySeconds,
        });
        _work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"processhub-durable-{Environment.ProcessId}");
    }

    public async Task<int> RunAsync()
    {
        long started = MonotonicClock.Now;
        _options.LoadAverageAtStart = BenchOptions.ReadLoadAverage();
        Directory.CreateDirectory(_work);
        if (!_options.Keep)
        {
            ChildProcesses.TrackDirectory(_work); // a signal that ends the run removes it too (as the end of the run does)
        }
        try
        {
            if (_options.Has("fanout") || _options.Has("latency") || _options.Has("ingest"))
            {
                await AgainstBothHubsAsync().ConfigureAwait(false);
            }
            if (_options.Has("inproc"))
            {
                await InProcessIngestAsync().ConfigureAwait(false);
            }
            if (_options.Has("wal"))
            {
                await WriteAmplificationAsync().ConfigureAwait(false);
            }
            if (_options.Has("restart"))
            {
                await RestartAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            if (!_options.Keep)
            {
                ChildProcesses.ForgetDirectory(_work);
                RunSupport.TryDelete(_work);
            }
        }
        double elapsed = MonotonicClock.ToSeconds(MonotonicClock.Now - started);
        _options.LoadAverageAtEnd = BenchOptions.ReadLoadAverage();
        RunSupport.Log($"done in {elapsed:F0} s");
        await RunResults.WriteAsync(_samples, _options.JsonPath, _options.MarkdownPath, new DurableReport(_options, _samples, elapsed).Render, DurableReport.WriteBetweenMarkers).ConfigureAwait(false);
        return RunResults.ExitCode(_samples);
    }

    /// <summary>Fan-out, latency and HTTP ingest against a memory hub and a sqlite hub, both running throughout (idle when not under test).</summary>
    private async Task AgainstBothHubsAsync()
    {
        var hubs = new List<HubBinary>();
        var contexts = new List<BenchContext>();
        try
        {
            hubs.Add(await StartHubAsync(Memory, null).ConfigureAwait(false));
            hubs.Add(await StartHubAsync(Sqlite, Path.Combine(_work, "hub-sqlite")).ConfigureAwait(false));
            foreach (var hub in hubs)
            {
                contexts.Add(BenchContext.Create(hub.Target, _options.Secret, publishers: 4));
            }
            await WarmUpAsync(contexts).ConfigureAwait(false);
            if (_options.Has("fanout"))
            {
                foreach (int publishers in _options.FanOutPublishers)
                {
                    // The contexts' own publisher has 4 connections; another count gets contexts (and a process) of its own.
                    var publishing = publishers == 4 ? contexts : hubs.Select(h => BenchContext.Create(h.Target, _options.Secret, publishers)).ToList();
                    try
                    {
                        foreach (int n in _options.FanOutConnections)
                        {
                            await AlternateAsync("fanout", n, FanOutPoint(publishers), publishing, c => FanOutAsync(c, n)).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        if (!ReferenceEquals(publishing, contexts))
                        {
                            publishing.ForEach(c => c.Dispose());
                        }
                    }
                }
            }
            if (_options.Has("latency"))
            {
                int n = _options.LatencyConnections;
                await AlternateAsync("latency", n, _options.LatencyPoint, contexts, c => LatencyAsync(c, background: false), _options.LatencyRuns).ConfigureAwait(false);
                await AlternateAsync("latency", n, _options.BackgroundPoint, contexts, c => LatencyAsync(c, background: true), _options.LatencyRuns).ConfigureAwait(false);
            }
            if (_options.Has("ingest"))
            {
                foreach (int producers in _options.IngestProducers)
                {
                    await AlternateAsync("ingest", producers, "http", contexts, c => HttpIngestAsync(c, producers)).ConfigureAwait(false);
                }
            }
            // What the store did over the whole session, and the longest checkpoint it ever took.
            var sqlite = contexts.First(c => c.Target.Name == Sqlite);
            var totals = StoreMetrics.Read(sqlite.Target.EndPoint);
            Add(new Sample("store", Sqlite, 0, "session", 1, new()
            {
                ["commits"] = totals.Commits,
                ["events_written"] = totals.EventsWritten,
                ["commit_s"] = totals.CommitSeconds,
                ["checkpoints"] = totals.Checkpoints,
                ["checkpoint_s"] = totals.CheckpointSeconds,
                ["longest_checkpoint_ms"] = totals.LongestCheckpointSeconds * 1e3,
            }));
        }
        finally
        {
            foreach (var context in contexts)
            {
                context.Dispose();
            }
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private Task<HubBinary> StartHubAsync(string store, string? dataDirectory) =>
        HubBinary.StartAsync(store, _options.HubDll, store, dataDirectory, _options.Secret, _options.ServerCpus, Path.Combine(_work, $"hub-{store}.log"),
            _options.HistoryLimit is { } limit ? ["--history-limit", limit.ToString(CultureInfo.InvariantCulture)] : null);

    private HubOptions InProcessOptions => new() { StaleAfter = TimeSpan.Zero, HistoryLimit = _options.HistoryLimit ?? new HubOptions().HistoryLimit };

    /// <summary>
    /// Unrecorded rounds of fan-out bursts and of HTTP ingest for each hub, alternating, so that neither is timed while
    /// the tiered JIT still compiles its paths (see docs/benchmarks.md, "Warm-up").
    /// </summary>
    private async Task WarmUpAsync(List<BenchContext> contexts)
    {
        if (_options.WarmupSeconds <= 0 || _options.WarmupRounds <= 0)
        {
            return;
        }
        double seconds = _options.WarmupSeconds / _options.WarmupRounds;
        int n = Math.Min(1_000, _options.FanOutConnections.Min());
        for (int round = 1; round <= _options.WarmupRounds; round++)
        {
            for (int i = 0; i < contexts.Count; i++)
            {
                var context = contexts[(i + round - 1) % contexts.Count];
                RunSupport.Log($"warm-up round {round}/{_options.WarmupRounds} (not recorded): {context.Target.Name}");
                try
                {
                    RunSupport.Log("  fan-out " + RunSupport.Format(await _scenarios.ThroughputAsync(context, n, seconds).ConfigureAwait(false)));
                    RunSupport.Log("  ingest " + RunSupport.Format(await HttpIngestAsync(context, 8, seconds).ConfigureAwait(false)));
                }
                catch (Exception ex) when (RunSupport.IsRunFailure(ex))
                {
                    RunSupport.Log($"  failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }
    }

    public static string FanOutPoint(int publishers) => $"{publishers} publishers";

    /// <summary>
    /// The fan-out comparison's throughput scenario, with the hub's frames per socket send and (sqlite) events per
    /// commit over the same window, read from /metrics before and after.
    /// </summary>
    private async Task<Dictionary<string, double>> FanOutAsync(BenchContext context, int n)
    {
        var before = StoreMetrics.Read(context.Target.EndPoint);
        var values = await _scenarios.ThroughputAsync(context, n).ConfigureAwait(false);
        var after = StoreMetrics.Read(context.Target.EndPoint);
        double sends = after.Sends - before.Sends;
        values["frames_per_send"] = sends > 0 ? (after.FramesSent - before.FramesSent) / sends : 0;
        double commits = after.Commits - before.Commits;
        values["events_per_commit"] = commits > 0 ? (after.EventsWritten - before.EventsWritten) / commits : 0;
        return values;
    }

    /// <summary>
    /// Publish-to-delivery latency at a fixed rate to N subscribers (the load tool's open-loop latency scenario), with
    /// the store's checkpoints watched meanwhile; with <paramref name="background"/>, HTTP producers on other processes
    /// add a paced ingest so that the log grows and every checkpoint has pages to copy and sync.
    /// </summary>
    private async Task<Dictionary<string, double>> LatencyAsync(BenchContext context, bool background)
    {
        using var ingest = background ? new HttpIngest(context.Target, _options.Secret, _options.BackgroundProducers, "background") : null;
        Task<long[]>? backgroundRun = null;
        if (ingest is not null)
        {
            // Covers the fleet's connect and the whole measured window; ends on its own.
            long start = MonotonicClock.Now;
            long end = start + MonotonicClock.FromSeconds(_options.LatencySeconds + 3);
            backgroundRun = Task.Factory.StartNew(() => ingest.Run(start, end, _options.BackgroundRate), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        // Read every 10 ms, so that each checkpoint's window is known to within 10 ms on either side.
        var watch = new CheckpointWatch(context.Target.EndPoint, TimeSpan.FromMilliseconds(10));
        Dictionary<string, double> values;
        EventTimeline? timeline = null;
        try
        {
            values = await _scenarios.LatencyAsync(context, _options.LatencyConnections, _options.LatencyRate, t => timeline = t).ConfigureAwait(false);
        }
        finally
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }
        watch.AddTo(values, _options.LatencySeconds);
        if (timeline is not null)
        {
            CheckpointOverlap.AddTo(values, timeline, watch.Windows);
        }
        if (backgroundRun is not null)
        {
            long[] perSecond = await backgroundRun.ConfigureAwait(false);
            values["background_events_per_s"] = perSecond.Sum() / (_options.LatencySeconds + 3);
            values["background_errors"] = ingest!.Errors;
        }
        return values;
    }

    /// <summary>Closed-loop HTTP producers, one process each: acknowledged events a second, and per whole second.</summary>
    private Task<Dictionary<string, double>> HttpIngestAsync(BenchContext context, int producers) =>
        HttpIngestAsync(context, producers, _options.IngestSeconds);

    private async Task<Dictionary<string, double>> HttpIngestAsync(BenchContext context, int producers, double seconds)
    {
        using var ingest = new HttpIngest(context.Target, _options.Secret, producers, "ingest");
        var watch = new CheckpointWatch(context.Target.EndPoint);
        long[] perSecond;
        double cpu0 = ProcStats.CpuSeconds(context.Target.Pid);
        try
        {
            long start = MonotonicClock.Now + MonotonicClock.FromSeconds(0.05);
            long end = start + MonotonicClock.FromSeconds(seconds);
            perSecond = await Task.Factory.StartNew(() => ingest.Run(start, end), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }
        double cpu = ProcStats.CpuSeconds(context.Target.Pid) - cpu0;
        var values = PerSecondValues(perSecond, seconds, ingest.AckLatency);
        values["server_cpu_share"] = cpu / seconds;
        values["errors"] = ingest.Errors;
        watch.AddTo(values, seconds);
        return values;
    }

    private static Dictionary<string, double> PerSecondValues(long[] perSecond, double seconds, LatencyHistogram latency)
    {
        // Whole seconds only for the lowest second: a last partial second would look like a stall.
        int whole = Math.Max(1, (int)Math.Floor(seconds));
        return new()
        {
            ["events_per_s"] = perSecond.Sum() / seconds,
            ["lowest_second"] = perSecond.Take(whole).Min(),
            ["ack_p50_us"] = latency.Percentile(0.50) / 1e3,
            ["ack_p99_us"] = latency.Percentile(0.99) / 1e3,
            ["ack_max_us"] = latency.Max / 1e3,
        };
    }

    /// <summary>In-process producers against a fresh engine per run, memory store and sqlite store alternating.</summary>
    private async Task InProcessIngestAsync()
    {
        // Unrecorded first: the engine's and the store's paths compiled before anything is timed.
        foreach (string store in new[] { Memory, Sqlite })
        {
            RunSupport.Log($"in-process warm-up (not recorded): {store}");
            await InProcessRunAsync(store, 8, Math.Min(2, _options.InProcessSeconds)).ConfigureAwait(false);
        }
        foreach (int producers in _options.InProcessProducers)
        {
            for (int run = 1; run <= _options.Runs; run++)
            {
                string[] order = run % 2 == 1 ? [Memory, Sqlite] : [Sqlite, Memory];
                foreach (string store in order)
                {
                    RunSupport.Log($"inproc producers={producers} run {run}: {store}");
                    Add(new Sample("inproc", store, producers, "in process", run, await InProcessRunAsync(store, producers, _options.InProcessSeconds).ConfigureAwait(false)));
                }
            }
        }
    }

    private async Task<Dictionary<string, double>> InProcessRunAsync(string store, int producers, double seconds)
    {
        string directory = Path.Combine(_work, $"inproc-{Guid.NewGuid():N}");
        var hub = InProcessHub.Open(store, directory, InProcessOptions);
        try
        {
            var (perSecond, latency) = await InProcessIngest.RunAsync(hub, producers, seconds).ConfigureAwait(false);
            var values = PerSecondValues(perSecond, seconds, latency);
            if (hub.Statistics is { } statistics)
            {
                values["events_per_commit"] = statistics.Commits > 0 ? statistics.EventsWritten / (double)statistics.Commits : 0;
                values["commit_busy_fraction"] = statistics.CommitTime.TotalSeconds / seconds;
                values["longest_checkpoint_ms"] = statistics.LongestCheckpoint.TotalMilliseconds;
            }
            return values;
        }
        finally
        {
            await hub.DisposeAsync().ConfigureAwait(false);
            RunSupport.TryDelete(directory);
        }
    }

    /// <summary>
    /// What one event costs in the write-ahead log: in-process producers, one process each, with checkpoints held off
    /// (an hour apart) so that the log keeps every frame written; the log's size over the events written is the bytes
    /// (and, over the page size plus the frame header, the pages) each event wrote. The checkpoint later copies each
    /// distinct page back once more.
    /// </summary>
    private async Task WriteAmplificationAsync()
    {
        foreach (int producers in _options.InProcessProducers)
        {
            string directory = Path.Combine(_work, $"wal-{producers}");
            var hub = InProcessHub.Open(Sqlite, directory, InProcessOptions, checkpointInterval: TimeSpan.FromHours(1));
            Dictionary<string, double> values;
            try
            {
                RunSupport.Log($"wal producers={producers}: {Sqlite}");
                var (perSecond, latency) = await InProcessIngest.RunAsync(hub, producers, Math.Min(2, _options.InProcessSeconds)).ConfigureAwait(false);
                values = PerSecondValues(perSecond, Math.Min(2, _options.InProcessSeconds), latency);
                var statistics = hub.Statistics!;
                string wal = Path.Combine(directory, SqliteProcessStore.FileName + "-wal");
                double walBytes = File.Exists(wal) ? new FileInfo(wal).Length : 0;
                double events = statistics.EventsWritten;
                values["events_written"] = events;
                values["events_per_commit"] = statistics.Commits > 0 ? events / statistics.Commits : 0;
                values["wal_bytes_per_event"] = events > 0 ? walBytes / events : 0;
                // A frame is a 24-byte header and one 4,096-byte page.
                values["wal_pages_per_event"] = events > 0 ? walBytes / (24 + 4096) / events : 0;
                values["wal_pages_per_commit"] = statistics.Commits > 0 ? walBytes / (24 + 4096) / statistics.Commits : 0;
            }
            finally
            {
                await hub.DisposeAsync().ConfigureAwait(false);
                RunSupport.TryDelete(directory);
            }
            Add(new Sample("wal", Sqlite, producers, "in process", 1, values));
        }
    }

    /// <summary>
    /// Fills a store with processes x events, measures its size, then times starting the real binary on it (to its
    /// listening line) against starting it with the memory store and with an empty sqlite store, and the in-process
    /// construction of a HubApplication over it.
    /// </summary>
    private async Task RestartAsync()
    {
        string filled = Path.Combine(_work, "filled");
        int processes = _options.RestartProcesses;
        int events = _options.RestartEvents;
        RunSupport.Log($"restart: filling a store with {processes:N0} processes x {events:N0} events ({_options.FillProducers} producers in process)");
        Add(new Sample("fill", Sqlite, processes, "fill", 1, await StoreFill.FillAsync(filled, processes, events, _options.FillProducers, InProcessOptions).ConfigureAwait(false)));

        for (int run = 1; run <= _options.RestartRuns; run++)
        {
            var points = new List<(string Server, string Point, string? Directory)>
            {
                (Memory, "binary, empty", null),
                (Sqlite, "binary, empty", Path.Combine(_work, $"empty-{run}")),
                (Sqlite, "binary, filled", filled),
            };
            for (int i = 0; i < points.Count; i++)
            {
                var (server, point, directory) = points[(i + run - 1) % points.Count];
                RunSupport.Log($"restart {point} run {run}: {server}");
                try
                {
                    Add(new Sample("restart", server, processes, point, run, await StartOnceAsync(server, directory).ConfigureAwait(false)));
                }
                catch (Exception ex) when (RunSupport.IsRunFailure(ex))
                {
                    RunSupport.Log($"  failed: {ex.GetType().Name}: {ex.Message}");
                    Add(new Sample("restart", server, processes, point, run, new() { ["failed"] = 1 }));
                }
            }
            RunSupport.Log($"restart in process run {run}: {Sqlite}");
            Add(new Sample("restart", Sqlite, processes, "in process, filled", run, await ConstructInProcessAsync(filled).ConfigureAwait(false)));
        }
        var size = new Dictionary<string, double>();
        StoreFill.Measure(filled, size);
        Add(new Sample("size", Sqlite, processes, "after restarts", 1, size));
        if (_options.SteadyProcesses > 0 && _options.SteadyEvents > 0)
        {
            RunSupport.Log($"size in steady state: {_options.SteadyProcesses:N0} processes x {_options.SteadyEvents:N0} events, history limit {InProcessOptions.HistoryLimit:N0}");
            string steady = Path.Combine(_work, "steady");
            Add(new Sample("size", Sqlite, _options.SteadyProcesses, "steady", 1, await StoreFill.FillAsync(steady, _options.SteadyProcesses, _options.SteadyEvents, _options.FillProducers, InProcessOptions).ConfigureAwait(false)));
            RunSupport.TryDelete(steady);
        }
    }

    private async Task<Dictionary<string, double>> StartOnceAsync(string store, string? directory)
    {
        var hub = await StartHubAsync(store, directory).ConfigureAwait(false);
        try
        {
            var values = new Dictionary<string, double> { ["time_to_listening_s"] = hub.TimeToListening.TotalSeconds };
            using var http = new RawHttpConnection(hub.Target.EndPoint);
            http.Send("GET", "/healthz", null, ReadOnlySpan<byte>.Empty);
            using var health = JsonDocument.Parse(http.LastBodyText);
            values["processes"] = health.RootElement.GetProperty("processes").GetDouble();
            values["rss_mib"] = ProcStats.RssBytes(hub.Pid) / 1048576.0;
            long stopping = MonotonicClock.Now;
            await hub.StopAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            values["stop_s"] = MonotonicClock.ToSeconds(MonotonicClock.Now - stopping);
            return values;
        }
        finally
        {
            await hub.DisposeAsync().ConfigureAwait(false);
            if (directory is not null && directory.Contains("empty-", StringComparison.Ordinal))
            {
                RunSupport.TryDelete(directory);
            }
        }
    }

    /// <summary>What a HubApplication takes to construct over the filled store: open, load, restore; no listening.</summary>
    private async Task<Dictionary<string, double>> ConstructInProcessAsync(string directory)
    {
        var hubOptions = InProcessOptions with { StaleAfter = new HubOptions().StaleAfter };
        long start = MonotonicClock.Now;
        var app = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            hubOptions,
            new JwtSettings { Secret = _options.Secret },
            NullLoggerFactory.Instance,
            store: new SqliteProcessStore(new SqliteStoreOptions { DataDirectory = directory }, hubOptions.HistoryLimit, NullLogger.Instance));
        double seconds = MonotonicClock.ToSeconds(MonotonicClock.Now - start);
        int count = app.Registry.Count;
        await using (app.ConfigureAwait(false))
        {
            app.Start();
        }
        return new() { ["construct_s"] = seconds, ["processes"] = count };
    }

    private async Task AlternateAsync(string scenario, int n, string point, List<BenchContext> contexts, Func<BenchContext, Task<Dictionary<string, double>>> measure, int? runs = null)
    {
        for (int run = 1; run <= (runs ?? _options.Runs); run++)
        {
            for (int i = 0; i < contexts.Count; i++)
            {
                var context = contexts[(i + run - 1) % contexts.Count];
                RunSupport.Log($"{scenario} N={n} {point} run {run}: {context.Target.Name}");
                try
                {
                    Add(new Sample(scenario, context.Target.Name, n, point, run, await measure(context).ConfigureAwait(false)));
                }
                catch (Exception ex) when (RunSupport.IsRunFailure(ex))
                {
                    RunSupport.Log($"  failed: {ex.GetType().Name}: {ex.Message}");
                    Add(new Sample(scenario, context.Target.Name, n, point, run, new() { ["failed"] = 1 }));
                }
            }
        }
    }

    private void Add(Sample sample)
    {
        _samples.Add(sample);
        RunSupport.Log("  " + RunSupport.Format(sample.Values));
    }
}
