using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Server;
using ProcessHub.Tests.Api;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, item 4: SSE streams ignored <c>--max-connections</c> and the per-user limit (30 streams with a limit of
/// 10; one user held 1,000), and <c>/healthz</c> did not count them. They now count against both limits with the
/// WebSockets (docs/protocol.md sections 1.5 and 5.9) and show in <c>/healthz</c> and <c>/metrics</c>.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SseConnectionLimitTests
{
    [Test]
    public async Task Sse_streams_count_against_max_connections_with_websockets()
    {
        await using var host = HubTestHost.Start(server: new ServerOptions { MaxConnections = 2 });
        var endPoint = host.App.LocalEndPoint;
        var (aliceToken, alice) = (host.Token("alice"), host.App.Producer.Start("eval", "alice"));
        var (bobToken, bob) = (host.Token("bob"), host.App.Producer.Start("eval", "bob"));

        using var first = await SseClient.GetAsync(endPoint, $"/api/processes/{alice.ProcessId}/events", aliceToken);
        using var second = await SseClient.GetAsync(endPoint, $"/api/processes/{bob.ProcessId}/events", bobToken);
        Assert.That((first.Head.Status, second.Head.Status), Is.EqualTo((200, 200)));

        var third = await RawHttpClient.GetAsync(endPoint, $"/api/processes/{bob.ProcessId}/events", bobToken, ("Accept", "text/event-stream"));
        Assert.That(third.Status, Is.EqualTo(503), third.ToString());
        Assert.That((third.ErrorCode, third.ErrorMessage, third.Header("Retry-After")), Is.EqualTo(("unavailable", "too many connections", "1")));
        var benchmark = await RawHttpClient.PostAsync(endPoint, "/api/benchmark", host.Token("carol"), """{"models":["m"],"contexts":["1K"]}""", ("Accept", "text/event-stream"));
        Assert.That(benchmark.Status, Is.EqualTo(503), "a benchmark stream too, and it starts nothing: " + benchmark);
        Assert.That(host.App.Registry.Count, Is.EqualTo(2));

        await using (var tab = await host.ConnectAsync(queryToken: host.Token("carol")))
        {
            var (code, reason) = await tab.ReceiveCloseAsync();
            Assert.That((code, reason), Is.EqualTo((1013, "too many connections")), "a WebSocket past the streams is refused");
        }

        // The refused WebSocket leaves the count once its close handshake is over, which the client may see first.
        var health = await Eventually.HoldsAsync(() => RawHttpClient.GetAsync(endPoint, "/healthz"), reply => reply.Json.Long("websockets") == 0, "the refused WebSocket is gone");
        Assert.That((health.Json.Long("connections"), health.Json.Long("websockets"), health.Json.Long("sse_streams")), Is.EqualTo((2L, 0L, 2L)), health.ToString());
        var metrics = await RawHttpClient.GetAsync(endPoint, "/metrics");
        Assert.That(metrics.Text, Does.Contain("\nprocesshub_sse_streams 2\n"), metrics.Text);

        first.Dispose();
        await Eventually.HoldsAsync(() => RawHttpClient.GetAsync(endPoint, "/healthz"), reply => reply.Json.Long("sse_streams") == 1, "the closed stream is no longer counted");
        var (again, _) = await host.OpenTabWithListAsync("carol");
        await again.DisposeAsync();
    }

    [Test]
    public async Task Sse_streams_count_against_the_per_user_limit_with_websockets()
    {
        await using var host = HubTestHost.Start(hub: new HubOptions { MaxConnectionsPerUser = 2 });
        var endPoint = host.App.LocalEndPoint;
        string token = host.Token("alice");
        var run = host.App.Producer.Start("eval", "alice");
        string path = $"/api/processes/{run.ProcessId}/events";

        using var first = await SseClient.GetAsync(endPoint, path, token);
        await using var tab = await host.OpenTabAsync("alice");
        var refused = await RawHttpClient.GetAsync(endPoint, path, token, ("Accept", "text/event-stream"));
        Assert.That(refused.Status, Is.EqualTo(429), refused.ToString());
        Assert.That((refused.ErrorCode, refused.ErrorMessage), Is.EqualTo(("too_many_connections", "too many connections for this user")));
        await using (var third = await host.ConnectAsync(queryToken: token))
        {
            Assert.That(await third.ReceiveCloseAsync(), Is.EqualTo((1013, "too many connections for this user")));
        }
        using var bob = await SseClient.GetAsync(endPoint, $"/api/processes/{run.ProcessId}/events", host.App.Tokens.Issue("bob", ["admin"], TimeSpan.FromMinutes(5)));
        Assert.That(bob.Head.Status, Is.EqualTo(200), "other users are not affected");
        Assert.That(host.App.Limits.StreamsForUser("alice"), Is.EqualTo(1));

        // The stream ends with its process: its place is free again.
        run.Complete();
        Assert.That(await first.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        await first.ReadToTerminalAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(host.App.Limits.StreamsForUser("alice")), n => n == 0, "the ended stream is given back");
        var run2 = host.App.Producer.Start("eval", "alice");
        using var again = await SseClient.GetAsync(endPoint, $"/api/processes/{run2.ProcessId}/events", token);
        Assert.That(again.Head.Status, Is.EqualTo(200));
    }
}
