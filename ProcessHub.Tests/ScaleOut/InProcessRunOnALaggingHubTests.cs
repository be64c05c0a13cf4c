using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// An in-process start is answered once Redis stored it, even when its own hub could not apply it within the wait
/// (docs/protocol.md 11.5). The run's reports then meet a hub that does not know the process: they must be refused
/// for now (<see cref="StoreUnavailableException"/>, which the runner retries), never answered "ended", which stops
/// the run while Redis holds its process running for good. Real hub, real Redis.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class InProcessRunOnALaggingHubTests
{
    [Test]
    public async Task A_report_of_a_run_whose_start_its_hub_has_not_applied_is_unavailable_and_taken_once_the_hub_caught_up()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var user = await RedisHubUser.CreateAsync(admin, "lagging-hub");
        await using var hub = HubCluster.StartInProcess(redis, user.ConfigurationOn(redis));
        string token = HubCluster.Token("alice");

        // Cut off, the hub's scripts still run but it hears nothing and cannot read the log: the start is stored and
        // answered after the wait (5 s) without being applied here.
        await user.CutOffAsync();
        var run = await hub.Producer.StartAsync("benchmark", "alice", total: 10);
        Assert.That(hub.Registry.Find(run.ProcessId), Is.Null, "precondition: the hub answered the start without having applied it");

        Assert.ThrowsAsync<StoreUnavailableException>(async () => await run.ReportProgressAsync(1, 10),
            "a report the hub cannot place yet is 'try again', not 'the process has ended'");

        await user.LetBackAsync();
        var accepted = await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    return (ReportResult?)await run.ReportProgressAsync(1, 10);
                }
                catch (StoreUnavailableException)
                {
                    return null; // not caught up yet: the runner retries the same way
                }
            },
            result => result is not null, "the report being taken once the hub caught up", TimeSpan.FromSeconds(30));
        Assert.That(accepted, Is.EqualTo(ReportResult.Accepted));
        await using var tab = await HubCluster.OpenTabAsync(hub.LocalEndPoint, token);
        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 0, request_id = "s-1" });
        var progress = await tab.ReceiveUntilAsync(m => m.ProcessId == run.ProcessId && m.Type == "process_progress");
        Assert.That(progress.Seq, Is.EqualTo(2), progress.Text);
    }
}
