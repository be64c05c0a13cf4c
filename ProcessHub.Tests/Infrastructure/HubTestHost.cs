using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// A real hub on 127.0.0.1, port 0: the production composition root (<see cref="HubApplication"/>) with the engine's
/// pings off so the wire carries only what a test asks for, a zero clock skew so exp/nbf are exact, and the calls
/// the tests make against it (tabs over <see cref="RawWebSocketClient"/>, the HTTP API over <see cref="RawHttpClient"/>).
/// </summary>
/// <remarks>
/// The hub has two clocks (see <see cref="HubApplication"/>): its own (auth deadline, token expiry, retention,
/// staleness, rate limits, SSE keep-alives) and the connections' (stall limit, close handshake, heartbeat, drain).
/// A test fakes either or both, so that jumping one cannot disturb the other.
/// </remarks>
internal sealed class HubTestHost : IAsyncDisposable
{
    public const string Secret = "hub-tests-secret-0123456789abcdef-0123456789abcdef";

    private HubTestHost(HubApplication app, FakeTimeProvider? time, FakeTimeProvider? connectionTime)
    {
        App = app;
        Time = time;
        ConnectionTime = connectionTime;
    }

    public HubApplication App { get; }

    /// <summary>The hub's clock when the test asked for a fake one.</summary>
    public FakeTimeProvider? Time { get; }

    /// <summary>The connections' clock when the test gave a fake one.</summary>
    public FakeTimeProvider? ConnectionTime { get; }

    public string Epoch => App.Registry.Epoch;

    public IPEndPoint EndPoint => App.LocalEndPoint;

    /// <summary>
    /// Starts a hub. <paramref name="fakeTime"/> starts a fake hub clock at the real now (tokens carry real times),
    /// or the test passes its own <paramref name="time"/>; <paramref name="connectionTime"/> fakes the connections'
    /// clock. <paramref name="store"/> replaces the in-memory store.
    /// </summary>
    public static HubTestHost Start(HubOptions? hub = null, ServerOptions? server = null, JwtSettings? jwt = null, bool fakeTime = false, FakeTimeProvider? time = null, IProcessStore? store = null, FakeTimeProvider? connectionTime = null)
    {
        time ??= fakeTime ? new FakeTimeProvider(DateTimeOffset.UtcNow) : null;
        var app = new HubApplication(
            (server ?? new ServerOptions()) with { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            hub ?? new HubOptions(),
            jwt ?? new JwtSettings { Secret = Secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance,
            time,
            store,
            connectionTime);
        app.Start();
        return new HubTestHost(app, time, connectionTime);
    }

    /// <summary>A token the hub accepts, issued by the hub's own validator (HS256 with the test secret).</summary>
    public string Token(string subject, bool admin = false, TimeSpan? lifetime = null) =>
        Token(subject, admin ? ["admin"] : [], lifetime);

    /// <summary>A token with these roles (<c>admin</c>, <c>producer</c>).</summary>
    public string Token(string subject, IEnumerable<string> roles, TimeSpan? lifetime = null) =>
        App.Tokens.Issue(subject, roles, lifetime ?? TimeSpan.FromMinutes(30));

    /// <summary>Opens <c>/ws</c> with the token where the test puts it (see <see cref="RawWebSocketClient.OpenAsync(IPEndPoint, string, string?, string?, int?)"/>).</summary>
    public Task<RawWebSocketClient> ConnectAsync(string? queryToken = null, string? bearerToken = null, int? receiveBufferSize = null) =>
        RawWebSocketClient.OpenAsync(EndPoint, queryToken: queryToken, bearerToken: bearerToken, receiveBufferSize: receiveBufferSize);

    /// <summary>Connects with the token in the query and reads the first message, which must be process_list.</summary>
    public async Task<RawWebSocketClient> OpenTabAsync(string subject, bool admin = false)
    {
        var (client, _) = await OpenTabWithListAsync(subject, admin);
        return client;
    }

    /// <summary>Like <see cref="OpenTabAsync"/>, returning the process_list too.</summary>
    public Task<(RawWebSocketClient Client, HubMessage List)> OpenTabWithListAsync(string subject, bool admin = false, int? receiveBufferSize = null) =>
        OpenTabWithTokenAsync(Token(subject, admin), receiveBufferSize);

    /// <summary>Connects with <paramref name="token"/> in the query and reads the process_list that must come first.</summary>
    public Task<(RawWebSocketClient Client, HubMessage List)> OpenTabWithTokenAsync(string token, int? receiveBufferSize = null) =>
        RawWebSocketClient.OpenWithListAsync(EndPoint, token, receiveBufferSize);

    /// <summary>
    /// Proves every message published before this call has reached <paramref name="client"/>'s queue and was read:
    /// a ping's pong is queued after them, so what comes before the pong is exactly what was pending.
    /// </summary>
    public static async Task<List<HubMessage>> DrainWithPingAsync(RawWebSocketClient client, string requestId = "barrier")
    {
        await client.SendJsonAsync(new { type = "ping", request_id = requestId });
        var before = new List<HubMessage>();
        await client.ReceiveUntilAsync(m => m.Type == "pong" && m.String("request_id") == requestId, before);
        return before;
    }

    public Task<HttpReply> GetAsync(string path, string? token, params (string Name, string Value)[] headers) =>
        RawHttpClient.GetAsync(EndPoint, path, token, headers);

    public Task<HttpReply> PostAsync(string path, string? token, string? body, params (string Name, string Value)[] headers) =>
        RawHttpClient.PostAsync(EndPoint, path, token, body, headers);

    public Task<HttpReply> PostJsonAsync(string path, string? token, object body) =>
        RawHttpClient.PostAsync(EndPoint, path, token, JsonSerializer.Serialize(body));

    /// <summary>Creates a process through the API and returns its id (asserting the 201).</summary>
    public async Task<string> CreateAsync(string token, object? body = null)
    {
        var reply = await PostJsonAsync("/api/processes", token, body ?? new { process_type = "export", total = 3 });
        Assert.That(reply.Status, Is.EqualTo(201), reply.ToString());
        return reply.Json.GetProperty("process_id").GetString()!;
    }

    public async Task<JsonElement> GetProcessAsync(string id, string token)
    {
        var reply = await GetAsync($"/api/processes/{id}", token);
        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        return reply.Json;
    }

    /// <summary>Stops the hub; on a fake connections' clock the clock moves while it drains, as a real one would.</summary>
    public async ValueTask DisposeAsync()
    {
        var stopped = App.DisposeAsync().AsTask();
        if (ConnectionTime is not null)
        {
            await Eventually.CompletesAsync(ConnectionTime, stopped, "the hub stopping");
        }
        await stopped;
    }
}
