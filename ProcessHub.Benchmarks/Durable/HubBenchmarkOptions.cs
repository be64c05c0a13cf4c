using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// What `durable` and `scaleout` (the benchmarks that start real hubs) can both be told, read the same way: the hub
/// binary and its secret, the scenarios and their runs, the warm-up, where the results go, and what the report's
/// opening lines say about the machine.
/// </summary>
internal abstract class HubBenchmarkOptions(string secret, string command)
{
    /// <summary>The hub binary: ProcessHub.dll beside this tool (the project reference copies it), unless --hub says otherwise.</summary>
    public string HubDll { get; set; } = Path.Combine(AppContext.BaseDirectory, "ProcessHub.dll");
    public string Secret { get; set; } = secret;
    public HashSet<string> ScenarioNames { get; } = [];
    public int Runs { get; set; } = 3;

    /// <summary>Runs of the latency points: their tails move most with the machine's load.</summary>
    public int LatencyRuns { get; set; } = 5;
    public double WarmupSeconds { get; set; } = 6;
    public int WarmupRounds { get; set; } = 3;
    public string? WorkDirectory { get; set; }
    public bool Keep { get; set; }
    public string? MarkdownPath { get; set; }
    public string? JsonPath { get; set; }
    public string Command { get; set; } = command;
    public string Machine { get; set; } = "";
    public string LoadAverageAtStart { get; set; } = "";
    public string LoadAverageAtEnd { get; set; } = "";
    public string OtherLoad { get; set; } = "";

    public bool Has(string scenario) => ScenarioNames.Count == 0 || ScenarioNames.Contains(scenario);

    /// <summary>Reads the current option when it is one of these; false leaves it to the tool's own.</summary>
    protected bool TryRead(OptionReader reader)
    {
        switch (reader.Name)
        {
            case "--hub": HubDll = Path.GetFullPath(reader.Value()); return true;
            case "--secret": Secret = reader.Value(); return true;
            case "--scenarios": ScenarioNames.UnionWith(reader.List()); return true;
            case "--runs": Runs = reader.Int(); return true;
            case "--latency-runs": LatencyRuns = reader.Int(); return true;
            case "--warmup-seconds": WarmupSeconds = reader.Double(); return true;
            case "--warmup-rounds": WarmupRounds = reader.Int(); return true;
            case "--work-dir": WorkDirectory = reader.Value(); return true;
            case "--keep": Keep = true; return true;
            case "--markdown": MarkdownPath = reader.Value(); return true;
            case "--json": JsonPath = reader.Value(); return true;
            case "--command": Command = reader.Value(); return true;
            case "--machine": Machine = reader.Value(); return true;
            case "--other-load": OtherLoad = reader.Value(); return true;
            default: return false;
        }
    }

    /// <summary>Fails before anything starts when there is no hub binary to start.</summary>
    protected void CheckHubExists()
    {
        if (!File.Exists(HubDll))
        {
            throw new ArgumentException($"no hub binary at {HubDll} (build ProcessHub, or give --hub)");
        }
    }
}
