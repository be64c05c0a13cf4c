using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// A real hub on 127.0.0.1, port 0, for one test: the production composition root (<see cref="HubApplication"/>), the
/// engine's pings off so the wire carries only what a test asks for, a zero clock skew so exp/nbf are exact, and
/// optionally a <see cref="FakeTimeProvider"/> that drives the hub's clock (auth deadline, token expiry, retention;
/// the stall limit is measured by the engine on the real clock).
/// </summary>
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

    /// <summary>Starts a hub. <paramref name="fakeTime"/> starts a fake clock at the real now (tokens carry real times).</summary>
    public static HubTestHost Start(HubOptions? hub = null, ServerOptions? server = null, JwtSettings? jwt = null, bool fakeTime = false, FakeTimeProvider? time = null)
    {
        time ??= fakeTime ? new FakeTimeProvider(DateTimeOffset.UtcNow) : null;
        var app = new HubApplication(
            (server ?? new ServerOptions()) with { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            hub ?? new HubOptions(),
            jwt ?? new JwtSettings { Secret = Secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance,
            time);
        app.Start();
        return new HubTestHost(app, time);
    }

    /// <summary>A token the hub accepts, issued by the hub's own validator (HS256 with the test secret).</summary>
    public string Token(string subject, bool admin = false, TimeSpan? lifetime = null) =>
        App.Tokens.Issue(subject, admin ? ["admin"] : [], lifetime ?? TimeSpan.FromMinutes(30));

    /// <summary>Connects with the token in the query and reads the first message, which must be process_list.</summary>
    public async Task<HubTestClient> OpenTabAsync(string subject, bool admin = false)
    {
        var (client, _) = await OpenTabWithListAsync(subject, admin);
        return client;
    }

    /// <summary>Like <see cref="OpenTabAsync"/>, returning the process_list too.</summary>
    public async Task<(HubTestClient Client, HubMessage List)> OpenTabWithListAsync(string subject, bool admin = false, int? receiveBufferSize = null)
    {
        var client = await HubTestClient.ConnectAsync(App.LocalEndPoint, queryToken: Token(subject, admin), receiveBufferSize: receiveBufferSize);
        var list = await client.ReceiveAsync();
        Assert.That(list.Type, Is.EqualTo("process_list"), $"the first message must be process_list, got {list}");
        return (client, list);
    }

    /// <summary>
    /// Proves every message published before this call has reached <paramref name="client"/>'s queue and was read:
    /// a ping's pong is queued after them, so what comes before the pong is exactly what was pending.
    /// </summary>
    public static async Task<List<HubMessage>> DrainWithPingAsync(HubTestClient client, string requestId = "barrier")
    {
        await client.SendJsonAsync(new { type = "ping", request_id = requestId });
        var before = new List<HubMessage>();
        await client.ReceiveUntilAsync(m => m.Type == "pong" && m.String("request_id") == requestId, before);
        return before;
    }

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}
