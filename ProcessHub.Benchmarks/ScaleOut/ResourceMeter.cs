using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>
/// What a measurement window cost: the CPU and context switches of the deployment's hubs (all of them, also those
/// without subscribers) and,
/// on Redis, Redis's CPU, the time its scripts ran (INFO commandstats) and its longest append-only-file fsync (the
/// latency monitor, reset at the start).
/// </summary>
internal sealed class ResourceMeter
{
    private readonly Deployment _deployment;
    private readonly RedisServerProcess? _redis;
    private readonly double[] _hubCpu;
    private readonly Dictionary<int, long>[] _hubSwitches;
    private double _redisCpu;
    private (double Calls, double Microseconds) _scripts;

    private ResourceMeter(Deployment deployment, RedisServerProcess? redis)
    {
        _deployment = deployment;
        _redis = redis;
        _hubCpu = deployment.Hubs.Select(h => ProcStats.CpuSeconds(h.Pid)).ToArray();
        _hubSwitches = deployment.Hubs.Select(h => ProcStats.ContextSwitches(h.Pid)).ToArray();
    }

    public static async Task<ResourceMeter> StartAsync(Deployment deployment, RedisServerProcess redis)
    {
        var meter = new ResourceMeter(deployment, deployment.OnRedis ? redis : null);
        if (meter._redis is { } r)
        {
            await r.TakeFsyncStallsAsync().ConfigureAwait(false);
            meter._scripts = await r.ScriptStatsAsync().ConfigureAwait(false);
            meter._redisCpu = r.CpuSeconds;
        }
        return meter;
    }

    public async Task<Dictionary<string, double>> StopAsync(double seconds)
    {
        var values = new Dictionary<string, double>();
        double hubs = 0;
        for (int i = 0; i < _hubCpu.Length; i++)
        {
            double cpu = ProcStats.CpuSeconds(_deployment.Hubs[i].Pid) - _hubCpu[i];
            values[$"hub_cpu_share_{_deployment.Hubs[i].Name}"] = cpu / seconds;
            hubs += cpu;
        }
        values["hub_cpu_share"] = hubs / seconds;
        double switches = 0;
        for (int i = 0; i < _hubSwitches.Length; i++)
        {
            switches += ProcStats.SwitchesSince(_deployment.Hubs[i].Pid, _hubSwitches[i]);
        }
        values["hub_switches_per_s"] = switches / seconds;
        if (_redis is { } redis)
        {
            values["redis_cpu_share"] = (redis.CpuSeconds - _redisCpu) / seconds;
            var scripts = await redis.ScriptStatsAsync().ConfigureAwait(false);
            double calls = scripts.Calls - _scripts.Calls;
            double usec = scripts.Microseconds - _scripts.Microseconds;
            values["redis_scripts_per_s"] = calls / seconds;
            values["redis_script_busy"] = usec / 1e6 / seconds;
            values["redis_us_per_script"] = calls > 0 ? usec / calls : 0;
            var (longest, over) = await redis.TakeFsyncStallsAsync().ConfigureAwait(false);
            values["fsync_longest_ms"] = longest;
            values["fsync_seconds_over_1ms"] = over;
        }
        return values;
    }
}
