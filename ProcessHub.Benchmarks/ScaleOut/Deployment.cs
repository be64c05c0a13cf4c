using System.Net;
using ProcessHub.Benchmarks.Durable;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>
/// What a scenario is run against: the cluster (three hubs sharing one Redis), a lone hub on Redis (the same
/// redis-server, a key prefix of its own), or a lone hub with the memory store. Producers talk to the first hub.
/// </summary>
internal sealed class Deployment
{
    public Deployment(string name, bool onRedis, params HubBinary[] hubs)
    {
        Name = name;
        OnRedis = onRedis;
        Hubs = [.. hubs];
    }

    public string Name { get; }

    public bool OnRedis { get; }

    /// <summary>The hubs, in order; the failover replaces a killed one in place.</summary>
    public List<HubBinary> Hubs { get; }

    public HubBinary First => Hubs[0];

    public IEnumerable<IPEndPoint> EndPoints => Hubs.Select(h => h.Target.EndPoint);

    public override string ToString() => Name;
}
