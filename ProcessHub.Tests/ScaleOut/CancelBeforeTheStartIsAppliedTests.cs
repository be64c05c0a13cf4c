using NUnit.Framework;
using ProcessHub.Redis;
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
        string hubId = ((RedisProcessEngine)hub.Engine).HubId;
        const string ProcessId = "run-not-applied-here-yet";
        var runnersToken = hub.Registry.StartedProducerToken(ProcessId); // what StartAsync hands the runner
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = runnersToken.Register(() => fired.TrySetResult());

        // Sent until it fires: the hub's subscription to the control channel may not be up at the first one.
        var subscriber = admin.GetSubscriber();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!fired.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            await subscriber.PublishAsync(RedisChannel.Literal("processhub:control"), $"cancel {hubId} {ProcessId} alice");
            await Task.WhenAny(fired.Task, Task.Delay(TimeSpan.FromMilliseconds(500)));
        }

        Assert.That(runnersToken.IsCancellationRequested, Is.True, "the runner was told");
    }

    [Test]
    public async Task A_cancel_for_another_hubs_run_fires_nothing_here()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        await using var hub = HubCluster.StartInProcess(redis);
        string hubId = ((RedisProcessEngine)hub.Engine).HubId;
        const string ProcessId = "run-of-this-hub";
        var runnersToken = hub.Registry.StartedProducerToken(ProcessId);
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = runnersToken.Register(() => fired.TrySetResult());

        // A request addressed to another hub, then one to this hub for another run, then the one that counts: when
        // that one has fired the token, the two before it (sent first on the same channel) were read and ignored.
        var subscriber = admin.GetSubscriber();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!fired.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            Assert.That(runnersToken.IsCancellationRequested, Is.False, "fired by a request that was not for it");
            await subscriber.PublishAsync(RedisChannel.Literal("processhub:control"), $"cancel another-hub {ProcessId} alice");
            await subscriber.PublishAsync(RedisChannel.Literal("processhub:control"), $"cancel {hubId} some-other-run alice");
            await Task.WhenAny(fired.Task, Task.Delay(TimeSpan.FromMilliseconds(500)));
            if (!fired.Task.IsCompleted)
            {
                await subscriber.PublishAsync(RedisChannel.Literal("processhub:control"), $"cancel {hubId} {ProcessId} alice");
                await Task.WhenAny(fired.Task, Task.Delay(TimeSpan.FromMilliseconds(500)));
            }
        }

        Assert.That(runnersToken.IsCancellationRequested, Is.True, "the request for it fired it");
    }
}
