using System.Net;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// <c>--stale-after</c> on the shared engine (docs/protocol.md 10.5, decision 59): a process no worker reports to ends
/// as <c>stale</c> and every hub's tabs see it; and silence while a hub could not reach Redis is not the worker's
/// (its reports got 503), so a hub that stayed up through a long outage gives workers the whole limit again. A real
/// Redis; the judging hub runs in this process on a fake clock so that ten minutes can pass, and the test sweeps it.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class ScaleOutStaleTests
{
    private static readonly HubOptions TenMinutes = new() { StaleAfter = TimeSpan.FromMinutes(10) };

    [Test]
    public async Task A_process_no_worker_reports_to_ends_as_stale_and_a_tab_on_another_hub_sees_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var redis = await RedisServer.StartAsync();
        await using var hub1 = HubCluster.StartInProcess(redis, hubOptions: TenMinutes, time: time);
        var (hub2, two) = await HubCluster.StartBinaryAsync(redis);
        await using var _2 = hub2;
        string token = HubCluster.Token("alice");
        string id = await HubCluster.StartProcessAsync(hub1.LocalEndPoint, token);
        await using var tab = await HubCluster.OpenTabAsync(two, token);

        time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        hub1.Timers.Sweep();

        var failed = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.IsTerminal);
        Assert.That((failed.Type, failed.Get("error").GetProperty("code").GetString()), Is.EqualTo(("process_failed", "stale")), failed.Text);
        var report = await ReportAsync(two, id, token);
        Assert.That(report.Status, Is.EqualTo(409), report.ToString());
    }

    [Test]
    public async Task After_a_Redis_outage_longer_than_the_stale_limit_a_hub_that_stayed_up_gives_workers_the_whole_limit_again()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var redis = await RedisServer.StartAsync();
        await using var hub = HubCluster.StartInProcess(redis, hubOptions: TenMinutes, time: time);
        var endPoint = hub.LocalEndPoint;
        string token = HubCluster.Token("alice");
        string id = await HubCluster.StartProcessAsync(endPoint, token);

        // Redis is away for eleven minutes of the hub's clock; the worker's reports are refused meanwhile.
        await redis.StopAsync();
        await Eventually.HoldsAsync(() => EngineConnectedAsync(endPoint), connected => !connected, "the hub noticing Redis is gone");
        time.Advance(TimeSpan.FromMinutes(11));
        var refused = await ReportAsync(endPoint, id, token);
        Assert.That(refused.Status, Is.EqualTo(503), refused.ToString());

        await redis.StartAgainAsync();
        await Eventually.HoldsAsync(() => EngineConnectedAsync(endPoint), connected => connected, "the hub back on Redis", TimeSpan.FromSeconds(30));
        hub.Timers.Sweep();
        // A 503 is sent again, as a worker does: the client library's link may still drop once just after a restart.
        var report = await Eventually.HoldsAsync(() => ReportAsync(endPoint, id, token), reply => reply.Status != 503, "the report after the outage answered", TimeSpan.FromSeconds(30));
        Assert.That(report.Status, Is.EqualTo(200), $"ended as stale the moment Redis was back: {report}");

        // The limit still holds from then on.
        time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await Eventually.HoldsAsync(() =>
        {
            hub.Timers.Sweep();
            return hub.Registry.Find(id) is { IsEnded: true };
        }, "a process silent for the whole limit after the outage ending as stale");
    }

    private static async Task<bool> EngineConnectedAsync(IPEndPoint hub) =>
        (await RawHttpClient.GetAsync(hub, "/healthz", null)).Json.GetProperty("engine").GetProperty("connected").GetBoolean();

    private static Task<HttpReply> ReportAsync(IPEndPoint hub, string id, string token) =>
        RawHttpClient.PostAsync(hub, $"/api/processes/{id}/progress", token, """{"current":1,"total":10}""");
}
