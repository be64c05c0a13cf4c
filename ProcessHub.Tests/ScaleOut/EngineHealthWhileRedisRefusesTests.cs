using System.Net;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A Redis that is up but refuses writes (here -OOM: maxmemory reached under noeviction) answers every change with
/// 503 while the hub's connections stay up. /healthz and /metrics must not call that engine healthy: an operator who
/// alerts on <c>connected: false</c>, as docs/scale-out.md says, saw green while every producer was refused.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class EngineHealthWhileRedisRefusesTests
{
    [Test]
    public async Task A_Redis_refusing_writes_shows_as_not_connected_until_it_takes_them_again()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var (hub, endPoint) = await HubCluster.StartBinaryAsync(redis, "--redis-lease", "2");
        await using var _ = hub;
        string token = HubCluster.Token("alice");
        Assert.That(await EngineConnectedAsync(endPoint), Is.True, "connected to a Redis that takes writes");

        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await server.ConfigSetAsync("maxmemory", "1");
        var refused = await RawHttpClient.PostAsync(endPoint, "/api/processes", token, """{"process_type":"export"}""");
        Assert.That(refused.Status, Is.EqualTo(503), refused.ToString());
        await Eventually.HoldsAsync(() => EngineConnectedAsync(endPoint), connected => !connected, "/healthz saying the engine cannot take events");
        var health = await RawHttpClient.GetAsync(endPoint, "/healthz", null);
        Assert.That((health.Status, health.Json.GetProperty("status").GetString()), Is.EqualTo((200, "degraded")), health.Text);
        var metrics = await RawHttpClient.GetAsync(endPoint, "/metrics", null);
        Assert.That(metrics.Text, Does.Contain("\nprocesshub_engine_connected 0"), metrics.Text);

        await server.ConfigSetAsync("maxmemory", "0");
        await Eventually.HoldsAsync(() => EngineConnectedAsync(endPoint), connected => connected, "/healthz saying the engine takes events again");
        var created = await RawHttpClient.PostAsync(endPoint, "/api/processes", token, """{"process_type":"export"}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
    }

    private static async Task<bool> EngineConnectedAsync(IPEndPoint hub) =>
        (await RawHttpClient.GetAsync(hub, "/healthz", null)).Json.GetProperty("engine").GetProperty("connected").GetBoolean();
}
