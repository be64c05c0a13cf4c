using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A subscription that drops and comes back is harmless (the missed events are fetched from the log, 11.3) and may
/// drop often: each drop wrote two lines, with no bound (an audit: 50 lines for 25 CLIENT KILLs). One line each way per
/// 10 s now, the next one saying how many were held back. The hub's clock stands still here, so every drop after the
/// first falls in the same 10 s. Real Redis, a real hub.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class SubscriptionDropLogTests
{
    [Test]
    public async Task Repeated_subscription_drops_are_logged_once_each_way_per_ten_seconds()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        using var logs = new CapturingLoggerProvider();
        await using var hub = HubCluster.StartInProcess(redis, time: new FakeTimeProvider(DateTimeOffset.UtcNow),
            engineLogger: logs.CreateLogger("ProcessHub.Redis"));
        var server = admin.GetServer(admin.GetEndPoints()[0]);

        int drops = 0;
        for (int i = 0; i < 4; i++)
        {
            // Killed once both are back (the hub's subscription, and this test's own client's): each kill is a drop
            // of the subscription the hub holds.
            await Eventually.HoldsAsync(async () => (string)(await server.ExecuteAsync("CLIENT", "LIST", "TYPE", "pubsub"))!,
                list => Subscriptions(list) >= 2, "the hub's subscription being up");
            drops += (int)await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        }
        await Eventually.HoldsAsync(() => logs.Lines.Any(IsReturn), "the subscription's return being logged");
        await Eventually.HoldsAsync(async () => (string)(await server.ExecuteAsync("CLIENT", "LIST", "TYPE", "pubsub"))!,
            list => Subscriptions(list) >= 2, "the hub's subscription being up after the last drop");

        Assert.That(drops, Is.EqualTo(8), "precondition: four drops of the hub's subscription (and of this test's client's)");
        Assert.That(logs.Lines.Count(IsDrop), Is.EqualTo(1), string.Join("\n", logs.Lines));
        Assert.That(logs.Lines.Count(IsReturn), Is.EqualTo(1), string.Join("\n", logs.Lines));
    }

    private static int Subscriptions(string clientList) => clientList.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    private static bool IsDrop(string line) => line.Contains("lost Redis (Subscription", StringComparison.Ordinal);

    private static bool IsReturn(string line) => line.Contains("Redis is back (Subscription", StringComparison.Ordinal);
}
