using System.Globalization;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>Everything `durable` can be told; the defaults are the full run of `./run.sh bench durable`.</summary>
internal sealed class DurableOptions() : HubBenchmarkOptions("durable-benchmark-secret-0123456789-abcdefghij", "./run.sh bench durable")
{
    /// <summary>taskset CPU list for the hubs (the script pins them to core 0 and this tool to core 1); null leaves them free.</summary>
    public string? ServerCpus { get; set; }
    public int[] FanOutConnections { get; set; } = [1_000, 10_000];
    public double FanOutSeconds { get; set; } = 2;

    /// <summary>
    /// Publishing connections of the fan-out scenario, one point each: 4 is the fan-out comparison's publisher (8
    /// requests pipelined on each); more keep more events in flight where each waits for its commit.
    /// </summary>
    public int[] FanOutPublishers { get; set; } = [4, 32];
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

    /// <summary>The latency scenario's two points, as the samples and the report name them.</summary>
    public string LatencyPoint => string.Create(CultureInfo.InvariantCulture, $"{LatencyRate:N0}/s");

    public string BackgroundPoint => string.Create(CultureInfo.InvariantCulture, $"{LatencyRate:N0}/s + ingest {BackgroundRate:N0}/s");

    public static DurableOptions Parse(string[] args)
    {
        var options = new DurableOptions();
        var reader = new OptionReader(args);
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--server-cpus": options.ServerCpus = reader.Value(); break;
                case "--steady-processes": options.SteadyProcesses = reader.Int(); break;
                case "--steady-events": options.SteadyEvents = reader.Int(); break;
                case "--fanout-n": options.FanOutConnections = reader.Ints(); break;
                case "--fanout-publishers": options.FanOutPublishers = reader.Ints(); break;
                case "--fanout-seconds": options.FanOutSeconds = reader.Double(); break;
                case "--latency-n": options.LatencyConnections = reader.Int(); break;
                case "--latency-rate": options.LatencyRate = reader.Double(); break;
                case "--latency-seconds": options.LatencySeconds = reader.Double(); break;
                case "--background-rate": options.BackgroundRate = reader.Double(); break;
                case "--background-producers": options.BackgroundProducers = reader.Int(); break;
                case "--ingest-producers": options.IngestProducers = reader.Ints(); break;
                case "--ingest-seconds": options.IngestSeconds = reader.Double(); break;
                case "--inproc-producers": options.InProcessProducers = reader.Ints(); break;
                case "--inproc-seconds": options.InProcessSeconds = reader.Double(); break;
                case "--restart-processes": options.RestartProcesses = reader.Int(); break;
                case "--restart-events": options.RestartEvents = reader.Int(); break;
                case "--restart-runs": options.RestartRuns = reader.Int(); break;
                case "--fill-producers": options.FillProducers = reader.Int(); break;
                case "--history-limit": options.HistoryLimit = reader.Int(); break;
                default:
                    if (!options.TryRead(reader))
                    {
                        throw new ArgumentException($"unknown option {reader.Name}");
                    }
                    break;
            }
        }
        options.CheckHubExists();
        return options;
    }
}
