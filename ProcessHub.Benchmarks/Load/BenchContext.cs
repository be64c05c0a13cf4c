using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// One server under test and how to drive it: its upgrade URL, its publish path and tokens, its publisher, and
/// the next event index (indices only grow, so "has this connection seen event i" is one comparison).
/// </summary>
internal sealed class BenchContext : IDisposable
{
    private BenchContext(TargetServer target, string upgradePath, string publishPath, string? producerToken, int publishers)
    {
        Target = target;
        UpgradePath = upgradePath;
        PublishPath = publishPath;
        ProducerToken = producerToken;
        Publisher = new Publisher(target, publishers, publishPath, producerToken);
        // Paced sends are one request per connection at a time (no pipelining, so each leaves on its own
        // schedule): more connections, so that a slow answer does not hold up the next due send.
        PacedPublisher = new Publisher(target, PacedConnections, publishPath, producerToken);
    }

    public TargetServer Target { get; }
    public string UpgradePath { get; }
    public string PublishPath { get; }
    public string? ProducerToken { get; }
    public Publisher Publisher { get; }
    public Publisher PacedPublisher { get; }
    private const int PacedConnections = 16;
    public long NextIndex { get; set; } = 1;

    public static BenchContext Create(TargetServer target, string? secret, int publishers)
    {
        if (target.Kind == ServerKind.Peer)
        {
            return new BenchContext(target, "/ws", "/publish", null, publishers);
        }
        if (secret is null)
        {
            throw new ArgumentException("--secret is required for a processhub target");
        }
        // Every client is the same user, who owns the one process: every connection sees every event.
        string clientToken = Tokens.Issue(secret, "load", producer: false);
        string producerToken = Tokens.Issue(secret, "load", producer: true);
        using var http = new RawHttpConnection(target.EndPoint);
        int status = http.Send("POST", "/api/processes", producerToken, "{\"process_type\":\"load\",\"total\":2000000000}"u8);
        if (status != 201)
        {
            throw new InvalidOperationException($"POST /api/processes answered {status}: {http.LastBodyText}");
        }
        using var created = JsonDocument.Parse(http.LastBodyText);
        string id = created.RootElement.GetProperty("process_id").GetString()!;
        return new BenchContext(target, "/ws?token=" + clientToken, $"/api/processes/{id}/progress", producerToken, publishers)
        {
            AdminToken = Tokens.Issue(secret, "load-admin", role: "admin"),
        };
    }

    /// <summary>ProcessHub only: for <c>POST /api/admin/reclaim</c>, its full GC.</summary>
    private string? AdminToken { get; init; }

    public Fleet NewFleet() => new(Target.EndPoint, UpgradePath, Target.Kind == ServerKind.ProcessHub);

    /// <summary>
    /// A full GC in the server: the peers' <c>POST /gc</c>, ProcessHub's <c>POST /api/admin/reclaim</c> (a blocking,
    /// compacting full collection, as an admin).
    /// </summary>
    public bool TryFullGc()
    {
        using var http = new RawHttpConnection(Target.EndPoint);
        return Target.Kind == ServerKind.Peer
            ? http.Send("POST", "/gc", null, ReadOnlySpan<byte>.Empty) == 200
            : http.Send("POST", "/api/admin/reclaim", AdminToken, ReadOnlySpan<byte>.Empty) == 200;
    }

    /// <summary>Open WebSocket connections as the server counts them (peers: GET /count; ProcessHub: /metrics).</summary>
    public long OpenConnections()
    {
        using var http = new RawHttpConnection(Target.EndPoint);
        if (Target.Kind == ServerKind.Peer)
        {
            http.Send("GET", "/count", null, ReadOnlySpan<byte>.Empty);
            return long.TryParse(http.LastBodyText.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long count) ? count : -1;
        }
        http.Send("GET", "/metrics", null, ReadOnlySpan<byte>.Empty);
        foreach (var line in http.LastBodyText.Split('\n'))
        {
            if (line.StartsWith("processhub_websocket_connections ", StringComparison.Ordinal))
            {
                return (long)double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
            }
        }
        return -1;
    }

    /// <summary>Waits (bounded) until the server has let go of the connections of the last fleet.</summary>
    public async Task WaitForNoConnectionsAsync(TimeSpan timeout)
    {
        long deadline = MonotonicClock.Now + (long)timeout.TotalNanoseconds;
        while (MonotonicClock.Now < deadline && OpenConnections() > 0)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        Publisher.Dispose();
        PacedPublisher.Dispose();
    }

    public override string ToString() => new StringBuilder(Target.Name).Append(" (").Append(Target.Kind).Append(')').ToString();
}
