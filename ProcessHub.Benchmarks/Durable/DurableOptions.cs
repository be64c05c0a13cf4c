using System.Globalization;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>Everything `durable` can be told; the defaults are the full run of `./run.sh bench durable`.</summary>
internal sealed class DurableOptions
{
    /// <summary>The hub binary: ProcessHub.dll beside this tool (the project reference copies it), unless --hub says otherwise.</summary>
    public string HubDll { get; set; } = Path.Combine(AppContext.BaseDirectory, "ProcessHub.dll");
    public string Secret { get; set; } = "durable-benchmark-secret-0123456789-abcdefghij";

    /// <summary>taskset CPU list for the hubs (the script pins them to core 0 and this tool to core 1); null leaves them free.</summary>
    public string? ServerCpus { get; set; }
    public HashSet<string> ScenarioNames { get; } = [];
    public int Runs { get; set; } = 3;

    /// <summary>Runs of the latency points: their tails move most with the machine's load.</summary>
    public int LatencyRuns { get; set; } = 5;
    public int[] FanOutConnections { get; set; } = [1_000, 10_000];
    public double FanOutSeconds { get; set; } = 2;

    /// <summary>
    /// Publishing connections of the fan-out scenario, one point each: 4 is the fan-out comparison's publisher (8
    /// requests pipelined on each); more keep more events in flight where each waits for its commit.
    /// </summary>
    public int[] FanOutPublishers { get; set; } = [4, 32];
    public double WarmupSeconds { get; set; } = 6;
    public int WarmupRounds { get; set; } = 3;
    public int LatencyConnections { get; set; } = 100;
    public double LatencyRate { get; set; } = 1_000;
    public double LatencySeconds { get; set; } = 5;

    /// <summary>Reports a second over HTTP beside the latency measurement in its second variant: they grow the log, so checkpoints have work.</summary>
    public double BackgroundRate { get; set; } = 5_000;
    public int BackgroundProducers { get; set; } = 16;
    public int[] IngestProducers { get; set; } = [1, 8, 64];
    public double IngestSeconds { get; set; } = 5;
    public int[] InProcessProducers { get; set; } = [1, 8, 64];
    public double InProcessSeconds { get; set; } = 3;
    public int RestartProcesses { get; set; } = 1_000;
    public int RestartEvents { get; set; } = 1_000;
    public int RestartRuns { get; set; } = 3;
    public int FillProducers { get; set; } = 32;

    /// <summary>
    /// The size in steady state: processes written past the history limit (the oldest events pruned as new ones come,
    /// their pages reused), e.g. 100 processes x 3,000 events with a limit of 1,000. Zero skips it.
    /// </summary>
    public int SteadyProcesses { get; set; } = 100;
    public int SteadyEvents { get; set; } = 3_000;
    /// <summary>--history-limit for every hub, in process and binary; null keeps the hub's default (1,000).</summary>
    public int? HistoryLimit { get; set; }
    public string? WorkDirectory { get; set; }
    public bool Keep { get; set; }
    public string? MarkdownPath { get; set; }
    public string? JsonPath { get; set; }
    public string Command { get; set; } = "./run.sh bench durable";
    public string Machine { get; set; } = "";
    public string LoadAverageAtStart { get; set; } = "";
    public string LoadAverageAtEnd { get; set; } = "";
    public string OtherLoad { get; set; } = "";

    /// <summary>The latency scenario's two points, as the samples and the report name them.</summary>
    public string LatencyPoint => string.Create(CultureInfo.InvariantCulture, $"{LatencyRate:N0}/s");

    public string BackgroundPoint => string.Create(CultureInfo.InvariantCulture, $"{LatencyRate:N0}/s + ingest {BackgroundRate:N0}/s");

    public bool Has(string scenario) => ScenarioNames.Count == 0 || ScenarioNames.Contains(scenario);

    public static DurableOptions Parse(string[] args)
    {
        var options = new DurableOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--hub": options.HubDll = Path.GetFullPath(Value()); break;
                case "--secret": options.Secret = Value(); break;
                case "--server-cpus": options.ServerCpus = Value(); break;
                case "--scenarios": options.ScenarioNames.UnionWith(Value().Split(',')); break;
                case "--runs": options.Runs = Int(Value()); break;
                case "--latency-runs": options.LatencyRuns = Int(Value()); break;
                case "--steady-processes": options.SteadyProcesses = Int(Value()); break;
                case "--steady-events": options.SteadyEvents = Int(Value()); break;
                case "--fanout-n": options.FanOutConnections = Ints(Value()); break;
                case "--fanout-publishers": options.FanOutPublishers = Ints(Value()); break;
                case "--fanout-seconds": options.FanOutSeconds = Double(Value()); break;
                case "--warmup-seconds": options.WarmupSeconds = Double(Value()); break;
                case "--warmup-rounds": options.WarmupRounds = Int(Value()); break;
                case "--latency-n": options.LatencyConnections = Int(Value()); break;
                case "--latency-rate": options.LatencyRate = Double(Value()); break;
                case "--latency-seconds": options.LatencySeconds = Double(Value()); break;
                case "--background-rate": options.BackgroundRate = Double(Value()); break;
                case "--background-producers": options.BackgroundProducers = Int(Value()); break;
                case "--ingest-producers": options.IngestProducers = Ints(Value()); break;
                case "--ingest-seconds": options.IngestSeconds = Double(Value()); break;
                case "--inproc-producers": options.InProcessProducers = Ints(Value()); break;
                case "--inproc-seconds": options.InProcessSeconds = Double(Value()); break;
                case "--restart-processes": options.RestartProcesses = Int(Value()); break;
                case "--restart-events": options.RestartEvents = Int(Value()); break;
                case "--restart-runs": options.RestartRuns = Int(Value()); break;
                case "--fill-producers": options.FillProducers = Int(Value()); break;
                case "--history-limit": options.HistoryLimit = Int(Value()); break;
                case "--work-dir": options.WorkDirectory = Value(); break;
                case "--keep": options.Keep = true; break;
                case "--markdown": options.MarkdownPath = Value(); break;
                case "--json": options.JsonPath = Value(); break;
                case "--command": options.Command = Value(); break;
                case "--machine": options.Machine = Value(); break;
                case "--other-load": options.OtherLoad = Value(); break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }
        if (!File.Exists(options.HubDll))
        {
            throw new ArgumentException($"no hub binary at {options.HubDll} (build ProcessHub, or give --hub)");
        }
        return options;
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static double Double(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    private static int[] Ints(string text) => text.Split(',').Select(Int).ToArray();
}
