using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>What every actor of a soak shares: the hub, its clients' HTTP connection pool, the ledger, the verdict.</summary>
internal sealed class SoakContext : IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _running = new(StringComparer.Ordinal);

    public SoakContext(SoakHub hub, int seed)
    {
        Hub = hub;
        Seed = seed;
        Http = NewHttpClient(hub);
    }

    private static HttpClient NewHttpClient(SoakHub hub) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = hub.BaseUri,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>Closes every pooled HTTP connection to the hub (a fresh client opens one when next used).</summary>
    public void ReplaceHttpClient()
    {
        Http.Dispose();
        Http = NewHttpClient(Hub);
    }

    public SoakHub Hub { get; }

    public int Seed { get; }

    public HttpClient Http { get; private set; }

    public Ledger Ledger { get; } = new();

    public Violations Violations { get; } = new();

    /// <summary>Seconds since the soak started.</summary>
    public double Now => _clock.Elapsed.TotalSeconds;

    public string Token(string user) => _tokens.GetOrAdd(user, SoakHub.TokenFor);

    /// <summary>A process that is running now (for SSE readers), with its owner; null when none is.</summary>
    public (string ProcessId, string Owner)? AnyRunning(Random random)
    {
        var snapshot = _running.ToArray();
        if (snapshot.Length == 0)
        {
            return null;
        }
        var (id, owner) = snapshot[random.Next(snapshot.Length)];
        return (id, owner);
    }

    public void MarkRunning(string processId, string owner) => _running[processId] = owner;

    public void MarkEnded(string processId) => _running.TryRemove(processId, out _);

    public async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string token, object? body, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await Http.SendAsync(request, cancellation).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellation).ConfigureAwait(false);
        JsonElement parsed = default;
        if (bytes.Length > 0 && bytes[0] == (byte)'{')
        {
            using var document = JsonDocument.Parse(bytes);
            parsed = document.RootElement.Clone();
        }
        return ((int)response.StatusCode, parsed);
    }

    public async Task<JsonElement> HealthAsync(CancellationToken cancellation)
    {
        var text = await Http.GetStringAsync("/healthz", cancellation).ConfigureAwait(false);
        using var document = JsonDocument.Parse(Encoding.UTF8.GetBytes(text));
        return document.RootElement.Clone();
    }

    public void Dispose() => Http.Dispose();
}
