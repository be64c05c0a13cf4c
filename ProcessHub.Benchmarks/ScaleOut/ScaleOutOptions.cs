using System.Globalization;
using ProcessHub.Benchmarks.Durable;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>Everything `scaleout` can be told; the defaults are the full run of `./run.sh bench scaleout`.</summary>
internal sealed class ScaleOutOptions() : HubBenchmarkOptions("scaleout-benchmark-secret-0123456789-abcdefghij", "./run.sh bench scaleout")
{
    public string RedisServer { get; set; } = "/usr/bin/redis-server";

    /// <summary>taskset CPU list for every hub (the three of the cluster and the lone ones); null leaves them free.</summary>
    public string? HubCpus { get; set; }

    /// <summary>taskset CPU list for redis-server; null leaves it free.</summary>
    public string? RedisCpus { get; set; }

    /// <summary>HTTP producers in all, spread round-robin over the cluster's three hubs; a lone hub gets them all.</summary>
    public int[] IngestProducers { get; set; } = [3, 24, 96];
    public double IngestSeconds { get; set; } = 4;

    /// <summary>Redis's appendfsync policies the ingest scenario runs under.</summary>
    public string[] IngestFsync { get; set; } = ["always", "everysec"];

    /// <summary>Which deployments the scenarios alternate between (cluster, lone-redis, lone-memory); all by default.</summary>
    public HashSet<string> DeploymentNames { get; } = [];

    /// <summary>
    /// Subscribers on each hub of the latency scenario (and on the lone hubs), one point each: 10 leaves the path (Redis,
    /// the subscription, the applier) nearly alone; 100 adds the fan-out of three hubs on the same cores.
    /// </summary>
    public int[] LatencyConnections { get; set; } = [10, 100];
    public double LatencyRate { get; set; } = 1_000;
    public double LatencySeconds { get; set; } = 4;

    /// <summary>
    /// Connections the paced reports are spread over, one request in flight on each: enough that a report waiting
    /// for its answer (a round trip through Redis) does not hold up the next one due, as many workers would not.
    /// </summary>
    public int LatencyPublishers { get; set; } = 64;

    /// <summary>Redis's appendfsync policies the latency scenario runs under (always is the documented deployment).</summary>
    public string[] LatencyFsync { get; set; } = ["always", "everysec"];

    /// <summary>
    /// Subscribers on each of the three hubs. 3 x N client sockets live in this one process, so N is at most about
    /// 6,000 under a 20,000 descriptor limit.
    /// </summary>
    public int[] FanOutEach { get; set; } = [1_000, 5_000];

    /// <summary>Subscribers on hub 2 alone, the events published through hub 1: one hub's fan-out at a size the descriptors allow.</summary>
    public int[] FanOutOne { get; set; } = [10_000];
    public int[] FanOutPublishers { get; set; } = [32];
    public double FanOutSeconds { get; set; } = 2;
    public int FailoverTabs { get; set; } = 1_000;
    public int FailoverRuns { get; set; } = 3;

    /// <summary>Reports a second to the process the tabs follow, through hub 1, during the failover.</summary>
    public double FailoverReportRate { get; set; } = 20;
    public double FailoverTimeoutSeconds { get; set; } = 30;
    public string Placement { get; set; } = "";

    public string LatencyPoint(string fsync) => string.Create(CultureInfo.InvariantCulture, $"{LatencyRate:N0}/s, appendfsync {fsync}");

    public static string IngestPoint(string fsync) => $"http, appendfsync {fsync}";

    public bool HasDeployment(string name) => DeploymentNames.Count == 0 || DeploymentNames.Contains(name);

    public static ScaleOutOptions Parse(string[] args)
    {
        var options = new ScaleOutOptions();
        var reader = new OptionReader(args);
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--redis-server": options.RedisServer = reader.Value(); break;
                case "--hub-cpus": options.HubCpus = reader.Value(); break;
                case "--redis-cpus": options.RedisCpus = reader.Value(); break;
                case "--ingest-producers": options.IngestProducers = reader.Ints(allowEmpty: true); break;
                case "--ingest-seconds": options.IngestSeconds = reader.Double(); break;
                case "--ingest-fsync": options.IngestFsync = reader.List(); break;
                case "--deployments": options.DeploymentNames.UnionWith(reader.List()); break;
                case "--latency-n": options.LatencyConnections = reader.Ints(allowEmpty: true); break;
                case "--latency-rate": options.LatencyRate = reader.Double(); break;
                case "--latency-seconds": options.LatencySeconds = reader.Double(); break;
                case "--latency-publishers": options.LatencyPublishers = reader.Int(); break;
                case "--latency-fsync": options.LatencyFsync = reader.List(); break;
                case "--fanout-each": options.FanOutEach = reader.Ints(allowEmpty: true); break;
                case "--fanout-one": options.FanOutOne = reader.Ints(allowEmpty: true); break;
                case "--fanout-publishers": options.FanOutPublishers = reader.Ints(allowEmpty: true); break;
                case "--fanout-seconds": options.FanOutSeconds = reader.Double(); break;
                case "--failover-tabs":
                    options.FailoverTabs = reader.Int();
                    if (options.FailoverTabs < 1)
                    {
                        throw new ArgumentException("--failover-tabs needs at least 1 tab (--failover-runs 0 leaves the failover out)");
                    }
                    break;
                case "--failover-runs": options.FailoverRuns = reader.Int(); break;
                case "--failover-rate": options.FailoverReportRate = reader.Double(); break;
                case "--failover-timeout": options.FailoverTimeoutSeconds = reader.Double(); break;
                case "--placement": options.Placement = reader.Value(); break;
                default:
                    if (!options.TryRead(reader))
                    {
                        throw new ArgumentException($"unknown option {reader.Name}");
                    }
                    break;
            }
        }
        options.CheckHubExists();
        if (options.IngestProducers.Any(p => p < 3 || p % 3 != 0))
        {
            throw new ArgumentException("--ingest-producers: each count is spread over three hubs, so it must be a multiple of 3");
        }
        foreach (string policy in options.LatencyFsync.Concat(options.IngestFsync))
        {
            if (policy is not ("always" or "everysec" or "no"))
            {
                throw new ArgumentException($"--latency-fsync: {policy} is not an appendfsync policy (always, everysec, no)");
            }
        }
        return options;
    }
}
