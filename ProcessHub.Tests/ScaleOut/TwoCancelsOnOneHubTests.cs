using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// Two cancels of one in-process run through a hub that is not the run's (a double click, or two tabs): the first is
/// sent on to the producer's hub and waits for the end; the second, made once Redis holds the end but before this hub
/// has applied it, learns that the run has ended. The first is still answered as the cancel that ended it
/// (docs/protocol.md 11.5). Real hubs on a real Redis; this hub's subscription reaches it through a proxy that delays it.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class TwoCancelsOnOneHubTests
{
    [Test]
    public async Task The_cancel_that_ended_a_run_is_answered_200_though_a_second_one_learned_of_the_end_first()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        // Less than the 5 s a cancel waits for the producer's hub, more than a second cancel's round trip.
        await using var proxy = new DelayingRedisProxy(redis.Port, TimeSpan.FromSeconds(2));
        var (producers, producersEndPoint) = await HubCluster.StartBinaryAsync(redis);
        await using var _ = producers;
        var (asking, askingEndPoint) = await HubCluster.StartBinaryWithConfigurationAsync(proxy.Configuration);
        await using var __ = asking;
        string token = HubCluster.Token("alice");
        var started = await RawHttpClient.PostAsync(producersEndPoint, "/api/benchmark", token, """{"models":["GPT-4o"],"runs":100,"contexts":["1K"],"step_ms":200}""");
        Assert.That(started.Status, Is.EqualTo(202), started.ToString());
        string run = started.Json.GetProperty("process_id").GetString()!;
        await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(askingEndPoint, $"/api/processes/{run}", token)).Status, status => status == 200, "the asking hub knows the run");

        proxy.DelaySubscriptions = true;
        var first = RawHttpClient.PostAsync(askingEndPoint, $"/api/processes/{run}/cancel", token, null);
        // The producer's hub fires its runner's token and stores the end, which reaches the asking hub 2 s later.
        await Eventually.HoldsAsync(
            async () => (await RawHttpClient.GetAsync(producersEndPoint, $"/api/processes/{run}", token)).Json.GetProperty("status").GetString(),
            status => status == "cancelled", "the run cancelled on the producer's hub");
        var second = await RawHttpClient.PostAsync(askingEndPoint, $"/api/processes/{run}/cancel", token, null);
        var answered = await first;

        Assert.That(second.Status, Is.EqualTo(409), second.ToString());
        Assert.That(answered.Status, Is.EqualTo(200), answered.ToString());
        Assert.That(answered.Json.GetProperty("status").GetString(), Is.EqualTo("cancelled"), answered.ToString());
    }
}
