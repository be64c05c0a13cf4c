using System.Globalization;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// Runs every selected scenario for every server in one invocation, alternating servers within each run (the
/// starting server rotates from run to run), and collects the samples for the report.
/// </summary>
internal sealed class BenchRunner
{
    private readonly BenchOptions _options;
    private readonly Scenarios _scenarios;
    private readonly List<Sample> _samples = [];
    private readonly List<BenchContext> _contexts = [];

    public BenchRunner(BenchOptions options)
    {
        _options = options;
        _scenarios = new Scenarios(options);
    }

    public async Task<int> RunAsync()
    {
        long started = MonotonicClock.Now;
        _options.LoadAverageAtStart = BenchOptions.ReadLoadAverage();
        foreach (var server in _options.Servers)
        {
            _contexts.Add(BenchContext.Create(server, _options.Secret, _options.Publishers));
        }
        try
        {
            // Idle memory first, while the servers are fresh: what a heap grew to earlier would hide growth here.
            if (_options.Has("idle"))
            {
                // A warm-up fleet first, so that the code paths are compiled and the pools grown before the
                // first measurement: otherwise the first N pays for the process's one-time start-up costs.
                foreach (var context in _contexts)
                {
                    Log($"idle warm-up: {context.Target.Name}");
                    await _scenarios.IdleMemoryAsync(context, 200).ConfigureAwait(false);
                }
                foreach (int n in _options.IdleConnections)
                {
                    await AlternateAsync("idle", n, _options.IdleRuns, "idle", c => _scenarios.IdleMemoryAsync(c, n)).ConfigureAwait(false);
                }
            }
            if (_options.Has("calibration") && _options.Raw is { } raw)
            {
                foreach (int n in _options.ThroughputConnections)
                {
                    for (int run = 1; run <= Math.Min(3, _options.Runs); run++)
                    {
                        Log($"calibration N={n} run {run}");
                        Add(new Sample("calibration", "raw", n, "raw", run, await _scenarios.CalibrateAsync(raw, n).ConfigureAwait(false)));
                    }
                }
            }
            // After idle memory (which wants fresh servers and has its own warm-up), before everything that is timed.
            if (_options.WarmupEnabled && (_options.Has("throughput") || _options.Has("latency") || _options.Has("rate") || _options.Has("final") || _options.Has("storm")))
            {
                await WarmUpAsync().ConfigureAwait(false);
            }
            if (_options.Has("throughput"))
            {
                foreach (int n in _options.ThroughputConnections)
                {
                    await AlternateAsync("throughput", n, _options.Runs, "burst", c => _scenarios.ThroughputAsync(c, n)).ConfigureAwait(false);
                }
            }
            if (_options.Has("latency"))
            {
                await LatencyAsync().ConfigureAwait(false);
            }
            if (_options.Has("rate"))
            {
                int n = _options.RateConnections;
                await AlternateAsync("rate", n, _options.RateRuns, RatePoint(_options.RateEvents),
                    c => _scenarios.LatencyAsync(c, n, _options.RateEvents, _options.RateSeconds)).ConfigureAwait(false);
            }
            if (_options.Has("final"))
            {
                await AlternateAsync("final", _options.FinalConnections, _options.FinalRuns, $"{_options.FinalEvents} events",
                    c => _scenarios.FinalStateAsync(c, _options.FinalConnections, _options.FinalEvents)).ConfigureAwait(false);
            }
            // Last: a storm leaves tens of thousands of connections for the servers to tear down.
            if (_options.Has("storm"))
            {
                await StormAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var context in _contexts)
            {
                context.Dispose();
            }
        }
        double elapsed = MonotonicClock.ToSeconds(MonotonicClock.Now - started);
        _options.LoadAverageAtEnd = BenchOptions.ReadLoadAverage();
        Log($"done in {elapsed:F0} s");
        await RunResults.WriteAsync(_samples, _options.JsonPath, _options.MarkdownPath, new MarkdownReport(_options, _samples, elapsed).Render, MarkdownReport.WriteBetweenMarkers).ConfigureAwait(false);
        return 0;
    }

    private async Task LatencyAsync()
    {
        int n = _options.LatencyConnections;
        var maxEvents = new Dictionary<string, double>();
        foreach (var context in _contexts)
        {
            var measured = _samples.Where(s => s.Scenario == "throughput" && s.Server == context.Target.Name && s.Connections == n)
                .Select(s => s.Values["events_per_s"] * s.Values["delivered_fraction"]).Order().ToList();
            if (measured.Count == 0)
            {
                Log($"latency: no throughput at N={n} for {context.Target.Name}; run the throughput scenario too");
                return;
            }
            // The server's own maximum, in events/s that reach every client (deliveries/s over N).
            maxEvents[context.Target.Name] = measured[measured.Count / 2];
        }
        foreach (double load in _options.LatencyLoads)
        {
            string point = $"{load * 100:F0}%";
            await AlternateAsync("latency", n, _options.Runs, point,
                c => _scenarios.LatencyAsync(c, n, Math.Max(1, load * maxEvents[c.Target.Name]))).ConfigureAwait(false);
        }
        // A share of each server's own maximum compares servers at different absolute rates (a faster server is
        // driven harder). So also one rate for all: half of Bun's maximum, for every server that can carry it at no
        // more than 80% of its own maximum (the others would only show an ever-growing backlog).
        if (maxEvents.Keys.FirstOrDefault(name => name.Contains("bun", StringComparison.OrdinalIgnoreCase)) is { } reference)
        {
            double rate = Math.Max(1, 0.5 * maxEvents[reference]);
            await AlternateAsync("latency", n, _options.Runs, SameRatePoint,
                c => _scenarios.LatencyAsync(c, n, rate), c => rate <= 0.8 * maxEvents[c.Target.Name]).ConfigureAwait(false);
        }
    }

    /// <summary>The point of the fixed-rate scenario, e.g. "100 events/s".</summary>
    public static string RatePoint(double eventsPerSecond) => $"{eventsPerSecond.ToString("0.##", CultureInfo.InvariantCulture)} events/s";

    /// <summary>The storm's point where every client is the same user (one token); the peers, which check no token, run only this one.</summary>
    public const string StormSameUser = "same user";

    /// <summary>The storm's point where the clients are <paramref name="users"/> different users, round-robin (ProcessHub only).</summary>
    public static string StormUsersPoint(int users) => $"{users:N0} users";

    /// <summary>
    /// Every storm point, servers alternating within each run: for ProcessHub the same user (one token) and
    /// --storm-users users (one token each, subject user-0, user-1, ...); for the peers, which check no token, only
    /// the first (the same request bytes, the token in ?token= ignored); the raw sender first, for reference (the tool's own CPU share is the check on the tool).
    /// </summary>
    private async Task StormAsync()
    {
        // Built before any clock starts: a client's upgrade request, one per user, for each server.
        string secret = _options.Secret ?? "no-secret-given-the-peers-check-no-token";
        byte[][] SameUser(TargetServer server, string path) => [LoadConnection.UpgradeRequest(path, server.EndPoint)];
        string peerPath = "/ws?token=" + Tokens.Issue(secret, "load", producer: false);
        var manyUsers = new Dictionary<string, byte[][]>();
        foreach (var context in _contexts.Where(c => c.Target.Kind == ServerKind.ProcessHub))
        {
            manyUsers[context.Target.Name] = Enumerable.Range(0, _options.StormUsers)
                .Select(u => LoadConnection.UpgradeRequest("/ws?token=" + Tokens.Issue(secret, $"user-{u}", producer: false), context.Target.EndPoint)).ToArray();
        }
        foreach (int n in _options.StormConnections)
        {
            if (_options.Raw is { } raw)
            {
                var request = SameUser(raw, peerPath);
                for (int run = 1; run <= Math.Min(3, _options.StormRuns); run++)
                {
                    Log($"storm N={n} run {run}: raw (the trivial sender, for reference)");
                    await MeasureAsync("storm", "raw", n, "raw", run, () => _scenarios.StormRawAsync(raw, request, n)).ConfigureAwait(false);
                }
            }
            await AlternateAsync("storm", n, _options.StormRuns, StormSameUser,
                c => _scenarios.StormAsync(c, SameUser(c.Target, c.Target.Kind == ServerKind.ProcessHub ? c.UpgradePath : peerPath), n)).ConfigureAwait(false);
            if (manyUsers.Count > 0)
            {
                await AlternateAsync("storm", n, _options.StormRuns, StormUsersPoint(_options.StormUsers),
                    c => _scenarios.StormAsync(c, manyUsers[c.Target.Name], n), c => manyUsers.ContainsKey(c.Target.Name)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The latency point at one rate for every server: half of Bun's maximum.</summary>
    public const string SameRatePoint = "same rate";

    /// <summary>
    /// Unrecorded throughput rounds for every server, alternating like the measured runs, each round with a fresh
    /// fleet. Without them the .NET servers are measured while their tiered JIT still compiles: every new fleet
    /// (JWT validation, handshakes, logging) queues methods for tier 1, and the background compiler then competes
    /// for the server's one core during the next measurement (later runs were 1.5-2x faster than the first).
    /// </summary>
    private async Task WarmUpAsync()
    {
        int n = _options.WarmupConnections;
        int rounds = _options.WarmupRounds;
        double seconds = _options.WarmupSeconds / rounds;
        for (int round = 1; round <= rounds; round++)
        {
            for (int i = 0; i < _contexts.Count; i++)
            {
                var context = _contexts[(i + round - 1) % _contexts.Count];
                Log($"warm-up N={n} round {round}/{rounds} ({seconds.ToString("0.##", CultureInfo.InvariantCulture)} s, not recorded): {context.Target.Name}");
                try
                {
                    Log("  " + Format(await _scenarios.ThroughputAsync(context, n, seconds).ConfigureAwait(false)));
                }
                catch (Exception ex) when (IsRunFailure(ex))
                {
                    Log($"  failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }
    }

    private async Task AlternateAsync(string scenario, int n, int runs, string point, Func<BenchContext, Task<Dictionary<string, double>>> measure, Func<BenchContext, bool>? include = null)
    {
        for (int run = 1; run <= runs; run++)
        {
            for (int i = 0; i < _contexts.Count; i++)
            {
                var context = _contexts[(i + run - 1) % _contexts.Count];
                if (include is not null && !include(context))
                {
                    continue;
                }
                Log($"{scenario} N={n} {point} run {run}: {context.Target.Name}");
                await MeasureAsync(scenario, context.Target.Name, n, point, run, () => measure(context)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One run of one point: its values, or a sample marked failed when the run failed against the server.</summary>
    private async Task MeasureAsync(string scenario, string server, int n, string point, int run, Func<Task<Dictionary<string, double>>> measure)
    {
        try
        {
            Add(new Sample(scenario, server, n, point, run, await measure().ConfigureAwait(false)));
        }
        catch (Exception ex) when (IsRunFailure(ex))
        {
            Log($"  failed: {ex.GetType().Name}: {ex.Message}");
            Add(new Sample(scenario, server, n, point, run, new() { ["failed"] = 1 }));
        }
    }

    /// <summary>A run that failed against the server (refused, reset, timed out), recorded or logged as failed.</summary>
    private static bool IsRunFailure(Exception ex) =>
        ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException or TimeoutException or OperationCanceledException;

    private void Add(Sample sample)
    {
        _samples.Add(sample);
        Log("  " + Format(sample.Values));
    }

    private static string Format(Dictionary<string, double> values) =>
        string.Join(' ', values.Select(v => $"{v.Key}={v.Value.ToString("G4", CultureInfo.InvariantCulture)}"));

    private static void Log(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
}
