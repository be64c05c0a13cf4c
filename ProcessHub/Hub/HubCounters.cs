using System.Collections.Concurrent;

namespace ProcessHub.Hub;

/// <summary>Counters the hub keeps for operations (exposed by /metrics); cheap enough for every event.</summary>
internal sealed class HubCounters
{
    public ConcurrentDictionary<string, long> AuthFailures { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<int, long> Closes { get; } = new();

    public void CountAuthFailure(string reason) => AuthFailures.AddOrUpdate(reason, 1, (_, n) => n + 1);

    public void CountClose(int code) => Closes.AddOrUpdate(code, 1, (_, n) => n + 1);
}
