using System.Net;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// docs/protocol.md 11.4: <c>/healthz</c>'s <c>engine.lag_events</c> (and <c>processhub_engine_lag_events</c>) count
/// the events Redis holds that the hub has not applied, also while its subscription delivers every event, late. The
/// gauge used to be measured only by the check that runs when the subscription has gone quiet, so a hub applying a
/// steady stream of events a while after they happened read 0 throughout.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class LagWhileEventsFlowTests
{
    [Test]
    public async Task A_hub_whose_subscription_delivers_late_shows_the_lag_while_events_flow()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        await using var proxy = new DelayingRedisProxy(redis.Port, TimeSpan.FromMilliseconds(600));
        var (producing, producingEndPoint) = await HubCluster.StartBinaryAsync(redis, "--api-rate-limit", "1000000");
        await using var _ = producing;
        var (late, lateEndPoint) = await HubCluster.StartBinaryWithConfigurationAsync(proxy.Configuration);
        await using var __ = late;
        string token = HubCluster.Token("alice");
        var created = await RawHttpClient.PostAsync(producingEndPoint, "/api/processes", token, """{"process_type":"eval","total":1000000}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        string id = created.Json.GetProperty("process_id").GetString()!;

        proxy.DelaySubscriptions = true;
        using var stopReporting = new CancellationTokenSource();
        var reporting = ReportSteadilyAsync(producingEndPoint, id, token, stopReporting.Token);
        try
        {
            // Every event reaches the late hub 0.6 s after it happened, and events keep coming: no quiet interval.
            await Eventually.HoldsAsync(() => LagAsync(lateEndPoint), lag => lag > 0, "a lag above 0 on the late hub", TimeSpan.FromSeconds(30));
        }
        finally
        {
            await stopReporting.CancelAsync();
            await reporting;
        }

        // Late, not lost: once the events stop, the late hub applies them all and the gauge goes back to 0.
        await Eventually.HoldsAsync(() => LagAsync(lateEndPoint), lag => lag == 0, "the lag back to 0 once the late events are applied", TimeSpan.FromSeconds(30));
        var there = (await RawHttpClient.GetAsync(producingEndPoint, $"/api/processes/{id}", token)).Json.GetProperty("seq").GetInt64();
        await Eventually.HoldsAsync(
            async () => (await RawHttpClient.GetAsync(lateEndPoint, $"/api/processes/{id}", token)).Json.GetProperty("seq").GetInt64(),
            seq => seq == there, $"the late hub at seq {there}");
    }

    private static async Task ReportSteadilyAsync(IPEndPoint hub, string id, string token, CancellationToken stop)
    {
        for (int k = 1; !stop.IsCancellationRequested; k++)
        {
            var report = await RawHttpClient.PostAsync(hub, $"/api/processes/{id}/progress", token, $$"""{"current":{{k}},"total":1000000}""");
            Assert.That(report.Status, Is.EqualTo(200), report.ToString());
        }
    }

    private static async Task<long> LagAsync(IPEndPoint hub) =>
        (await RawHttpClient.GetAsync(hub, "/healthz", null)).Json.GetProperty("engine").GetProperty("lag_events").GetInt64();
}
