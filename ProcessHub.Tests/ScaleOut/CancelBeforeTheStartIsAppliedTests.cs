using NUnit.Framework;
using ProcessHub.Redis;
using ProcessHub.Server;
using ProcessHub.Tests.Infrastructure;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A cancel for a run of this hub that arrives before this hub applied the run's start (its applier behind, the start
/// answered after the wait: 11.5). The runner already holds the token the record will take; the request was dropped
/// because the record was not there, so tabs on the asking hub saw <c>process_cancelled</c> while the runner went on
/// (a review of the engine, 2026-12-03). Real Redis, a real hub; the request is the message the cancel script
/// publishes on the control channel.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class CancelBeforeTheStartIsAppliedTests
{
    [Test]
    public async Task A_cancel_for_a_run_whose_start_is_not_applied_here_yet_fires_the_token_its_runner_holds()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        await using var hub = HubCluster.StartInProcess(redis);
        var runner = RunnerOf(hub, "run-not-applied-here-yet");

        await SendUntilFiredAsync(admin, runner, $"cancel {HubIdOf(hub)} run-not-applied-here-yet alice");

        Assert.That(runner.Token.IsCancellationRequested, Is.True, "the runner was told");
    }

    [Test]
    public async Task A_cancel_addressed_to_another_hub_or_another_run_fires_nothing_here()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        await using var hub = HubCluster.StartInProcess(redis);
        string hubId = HubIdOf(hub);
        var runner = RunnerOf(hub, "run-of-this-hub");
        var sentinel = RunnerOf(hub, "sentinel-run");

        // Requests on one channel are handled in the order sent: once the sentinel's fired, the two before it were
        // read, and must have left the runner alone.
        var subscriber = admin.GetSubscriber();
        await subscriber.PublishAsync(Control, "cancel another-hub run-of-this-hub alice");
        await subscriber.PublishAsync(Control, $"cancel {hubId} some-other-run alice");
        await SendUntilFiredAsync(admin, sentinel, $"cancel {hubId} sentinel-run alice");

        Assert.That(sentinel.Token.IsCancellationRequested, Is.True, "precondition: the hub reads the channel");
        Assert.That(runner.Token.IsCancellationRequested, Is.False, "fired by a request that was not for it");
    }

    private static readonly RedisChannel Control = RedisChannel.Literal("processhub:control");

    private static string HubIdOf(HubApplication hub) => ((RedisProcessEngine)hub.Engine).HubId;

    /// <summary>The token a runner holds for a run whose start this hub has not applied (what StartAsync hands it then).</summary>
    private static CancellationTokenSource RunnerOf(HubApplication hub, string processId)
    {
        var token = hub.Registry.StartedProducerToken(processId);
        var observed = new CancellationTokenSource();
        token.Register(observed.Cancel);
        return observed;
    }

    /// <summary>Publishes <paramref name="message"/> until <paramref name="runner"/> fires: the hub's subscription may not be up at the first.</summary>
    private static async Task SendUntilFiredAsync(ConnectionMultiplexer admin, CancellationTokenSource runner, string message)
    {
        var subscriber = admin.GetSubscriber();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!runner.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            await subscriber.PublishAsync(Control, message);
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), runner.Token);
            }
            catch (OperationCanceledException)
            {
                // Fired.
            }
        }
    }
}
