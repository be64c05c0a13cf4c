using System.Collections.Concurrent;
using ProcessHub.WebSockets;

namespace ProcessHub.Hub;

/// <summary>Counters the hub keeps for operations (exposed by /metrics); cheap enough for every event.</summary>
internal sealed class HubCounters
{
    /// <summary>The key of <see cref="Closes"/> under which every code outside the ones the hub names is counted.</summary>
    public const int OtherCloseCodes = 0;

    public ConcurrentDictionary<string, long> AuthFailures { get; } = new(StringComparer.Ordinal);

    /// <summary>Closes by code: the registered codes (1000-1015) and the hub's own (4401, 4403, 4429), the rest as <see cref="OtherCloseCodes"/>.</summary>
    public ConcurrentDictionary<int, long> Closes { get; } = new();

    public void CountAuthFailure(string reason) => AuthFailures.AddOrUpdate(reason, 1, (_, n) => n + 1);

    // A client may end its connection with any code of 3000-4999: each would become a series of its own in /metrics,
    // so any client could grow the scrape by thousands of series. Only codes the protocol gives a meaning keep a label,
    // and the hub's own (4401, 4403, 4429) only when the hub sent them: a client closing with 4429 is not a slow consumer.
    public void CountClose(int code, bool byPeer) =>
        Closes.AddOrUpdate(IsNamed(code) && !(byPeer && code >= 3000) ? code : OtherCloseCodes, 1, (_, n) => n + 1);

    private static bool IsNamed(int code) =>
        code is >= 1000 and <= 1015 or CloseCode.Unauthorized or CloseCode.Forbidden or CloseCode.SlowConsumer;
}
