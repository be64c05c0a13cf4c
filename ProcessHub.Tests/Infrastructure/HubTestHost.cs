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
/// With a <see cref="FakeTimeProvider"/> the hub's whole clock is the test's: auth deadline, token expiry,
/// retention, rate limits, the stall limit, the close-handshake timeout, SSE keep-alives. A test then jumps minutes
/// at once, which a real clock never does: a queue caught between a send and its bookkeeping would look stalled
/// for minutes. So a fake-clock host without explicit server options gets a stall limit of a day; a test about
/// stalls sets its own and moves the clock in steps.
/// </remarks>
internal sealed class HubTestHost : IAsyncDisposable
{
    public const string Secret = "hub-tests-secret-0123456789abcdef-0123456789abcdef";

    private HubTestHost(HubApplication app, FakeTimeProvider? time)
    {
        App = app;
        Time = time;
    }

    public HubApplication App { get; }

    /// <summary>The hub's clock when the test asked for a fake one.</summary>
    public FakeTimeProvider? Time { get; }

    public string Epoch => App.Registry.Epoch;

    public IPEndPoint EndPoint => App.LocalEndPoint;

    /// <summary>
    /// Starts a hub. <paramref name="fakeTime"/> starts a fake clock at the real now (tokens carry real times), or
    /// the test passes its own <paramref name="time"/>. <paramref name="store"/> replaces the in-memory store.
    /// </summary>
    public static HubTestHost Start(HubOptions? hub = null, ServerOptions? server = null, JwtSettings? jwt = null, bool fakeTime = false, FakeTimeProvider? time = null, IProcessStore? store = null)
    {
        time ??= fakeTime ? new FakeTimeProvider(DateTimeOffset.UtcNow) : null;
        server ??= time is null ? new ServerOptions() : new ServerOptions { StallLimit = TimeSpan.FromDays(1) };
        var app = new HubApplication(
            server with { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            hub ?? new HubOptions(),
            jwt ?? new JwtSettings { Secret = Secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance,
            time,
            store);
        app.Start();
        return new HubTestHost(app, time);
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
    public async Task<(RawWebSocketClient Client, HubMessage List)> OpenTabWithTokenAsync(string token, int? receiveBufferSize = null)
    {
        var client = await ConnectAsync(queryToken: token, receiveBufferSize: receiveBufferSize);
        try
        {
            var list = await client.ReceiveAsync();
            Assert.That(list.Type, Is.EqualTo("process_list"), $"the first message must be process_list, got {list}");
            return (client, list);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

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

    /// <summary>Stops the hub; on a fake clock the clock moves while it drains, as a real one would.</summary>
    public async ValueTask DisposeAsync()
    {
        var stopped = App.DisposeAsync().AsTask();
        if (Time is not null)
        {
            await Eventually.CompletesAsync(Time, stopped, "the hub stopping");
        }
        await stopped;
    }
}
