namespace ProcessHub.Benchmarks.Load;

/// <summary>Everything `load run` can be told; the defaults are the full fan-out comparison.</summary>
internal sealed class BenchOptions
{
    public List<TargetServer> Servers { get; } = [];
    public TargetServer? Raw { get; set; }
    public string? Secret { get; set; }

    /// <summary>dotnet-gcdump, to induce a full GC in (and read the live heap of) ProcessHub for idle memory.</summary>
    public string? GcDumpPath { get; set; }
    public int Runs { get; set; } = 5;
    public int FinalRuns { get; set; } = 1;
    public int IdleRuns { get; set; } = 1;
    public HashSet<string> ScenarioNames { get; } = [];
    public int[] ThroughputConnections { get; set; } = [1, 100, 1_000, 10_000];
    public int[] IdleConnections { get; set; } = [1_000, 10_000];
    public int LatencyConnections { get; set; } = 1_000;
    public double[] LatencyLoads { get; set; } = [0.2, 0.5, 0.8];
    public int FinalConnections { get; set; } = 1_000;
    public int FinalEvents { get; set; } = 10_000;
    public double FinalTimeoutSeconds { get; set; } = 100;
    public double ThroughputSeconds { get; set; } = 2;

    /// <summary>`--rate-events`: the fixed-rate latency scenario ("rate"): this many events a second for every server.</summary>
    public double RateEvents { get; set; } = 100;

    /// <summary>`--rate-connections`: the subscribers of the fixed-rate scenario.</summary>
    public int RateConnections { get; set; } = 1_000;

    /// <summary>`--rate-seconds`: how long each fixed-rate run publishes (its first 0.5 s is not recorded).</summary>
    public double RateSeconds { get; set; } = 5;
    public int RateRuns { get; set; } = 3;

    /// <summary>`--storm-n`: clients of the connection storm ("storm"), one point each; a point the open-files limits cannot hold is reported as not run.</summary>
    public int[] StormConnections { get; set; } = [10_000, 50_000];

    /// <summary>`--storm-users`: distinct users (tokens) of the storm's second mode for ProcessHub, round-robin over the clients.</summary>
    public int StormUsers { get; set; } = 1_000;
    public int StormRuns { get; set; } = 3;

    /// <summary>`--storm-parallel`: connection attempts the storm keeps in flight (each: connect, upgrade, first message).</summary>
    public int StormParallel { get; set; } = 1_000;

    /// <summary>`--storm-sources`: loopback source addresses (127.0.0.1, .2, ...) the storm spreads its clients over; 0: as many as the ephemeral port range needs.</summary>
    public int StormSources { get; set; }
    public double StormTimeoutSeconds { get; set; } = 60;
    public double LatencySeconds { get; set; } = 2.5;

    /// <summary>
    /// `--warmup-seconds`: unrecorded throughput bursts for every server before the throughput, latency and final
    /// scenarios, so the .NET servers' tiered JIT has compiled the connection and fan-out paths before anything is
    /// measured; 0 turns the warm-up off.
    /// </summary>
    public double WarmupSeconds { get; set; } = 6;

    /// <summary>
    /// `--warmup-rounds`: the warm-up time is split into this many rounds, each with a fresh fleet, because every
    /// new fleet (JWT validation, handshakes, logging) sends more methods to tier 1.
    /// </summary>
    public int WarmupRounds { get; set; } = 3;
    public int Publishers { get; set; } = 4;
    public int ConnectParallelism { get; set; } = 128;
    public string? MarkdownPath { get; set; }
    public string? JsonPath { get; set; }
    public string Command { get; set; } = "./run.sh bench";
    public string Machine { get; set; } = "";
    public string LoadAverageAtStart { get; set; } = "";
    public string LoadAverageAtEnd { get; set; } = "";

    public static string ReadLoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    public bool Has(string scenario) => ScenarioNames.Count == 0 || ScenarioNames.Contains(scenario);

    public bool WarmupEnabled => WarmupSeconds > 0 && WarmupRounds > 0;

    /// <summary>
    /// The warm-up's fleet size: the largest throughput N up to 1,000 (big enough to exercise the fan-out loop, small
    /// enough that connecting it takes little of the warm-up), or the smallest N if every configured N is larger.
    /// </summary>
    public int WarmupConnections
    {
        get
        {
            var upToAThousand = ThroughputConnections.Where(n => n <= 1_000).ToArray();
            return upToAThousand.Length > 0 ? upToAThousand.Max() : ThroughputConnections.Min();
        }
    }

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        var reader = new OptionReader(args);
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--server": options.Servers.Add(TargetServer.Parse(reader.Value())); break;
                case "--raw": options.Raw = TargetServer.Parse("raw=peer:" + reader.Value()); break;
                case "--secret": options.Secret = reader.Value(); break;
                case "--gcdump": options.GcDumpPath = reader.Value(); break;
                case "--runs": options.Runs = reader.Int(); break;
                case "--final-runs": options.FinalRuns = reader.Int(); break;
                case "--idle-runs": options.IdleRuns = reader.Int(); break;
                case "--scenarios": options.ScenarioNames.UnionWith(reader.List()); break;
                case "--throughput-n": options.ThroughputConnections = reader.Ints(); break;
                case "--idle-n": options.IdleConnections = reader.Ints(); break;
                case "--latency-n": options.LatencyConnections = reader.Int(); break;
                case "--latency-loads": options.LatencyLoads = reader.Doubles(); break;
                case "--final-n": options.FinalConnections = reader.Int(); break;
                case "--final-events": options.FinalEvents = reader.Int(); break;
                case "--final-timeout": options.FinalTimeoutSeconds = reader.Double(); break;
                case "--throughput-seconds": options.ThroughputSeconds = reader.Double(); break;
                case "--rate-events": options.RateEvents = reader.Double(); break;
                case "--rate-connections": options.RateConnections = reader.Int(); break;
                case "--rate-seconds": options.RateSeconds = reader.Double(); break;
                case "--rate-runs": options.RateRuns = reader.Int(); break;
                case "--storm-n": options.StormConnections = reader.Ints(allowEmpty: true); break;
                case "--storm-users": options.StormUsers = reader.Int(); break;
                case "--storm-runs": options.StormRuns = reader.Int(); break;
                case "--storm-parallel": options.StormParallel = reader.Int(); break;
                case "--storm-sources": options.StormSources = reader.Int(); break;
                case "--storm-timeout": options.StormTimeoutSeconds = reader.Double(); break;
                case "--latency-seconds": options.LatencySeconds = reader.Double(); break;
                case "--warmup-seconds": options.WarmupSeconds = reader.Double(); break;
                case "--warmup-rounds": options.WarmupRounds = reader.Int(); break;
                case "--publishers": options.Publishers = reader.Int(); break;
                case "--markdown": options.MarkdownPath = reader.Value(); break;
                case "--json": options.JsonPath = reader.Value(); break;
                case "--command": options.Command = reader.Value(); break;
                case "--machine": options.Machine = reader.Value(); break;
                default: throw new ArgumentException($"unknown option {reader.Name}");
            }
        }
        if (options.Servers.Count == 0)
        {
            throw new ArgumentException("give at least one --server name=kind:port:pid");
        }
        return options;
    }
}
