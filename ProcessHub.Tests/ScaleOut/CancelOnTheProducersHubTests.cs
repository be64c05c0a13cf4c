using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A cancel taken by the hub whose in-process producer runs the process (docs/protocol.md 4.3 and 11.5): a cancel Redis
/// refuses changes nothing, the producer's token included; one Redis takes fires the token before any tab, on this
/// hub or another, sees <c>process_cancelled</c>; one taken by another hub fires it on arrival, even while Redis refuses
/// the producer's hub its scripts (decision 75). Real hubs on a real Redis.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class CancelOnTheProducersHubTests
{
    [Test]
    public async Task A_cancel_Redis_refuses_leaves_the_run_going_and_sent_again_ends_it_after_its_token_fired()
    {
        await using var hubs = await ProducersHubAndAnother.StartAsync();
        var (user, run, tabElsewhere) = (hubs.User, hubs.Run, hubs.TabElsewhere);
        await using var tab = await HubCluster.OpenTabAsync(hubs.Hub.LocalEndPoint, hubs.Token);

        // Redis refuses the hub's scripts (-NOPERM) while its connections stay up: the cancel cannot be stored.
        await user.RefuseScriptsAsync();
        await tab.SendJsonAsync(new { type = "cancel_process", process_id = run.ProcessId, request_id = "c-1" });
        var refused = await tab.ReceiveUntilAsync(m => m.Type == "error");
        Assert.That((refused.String("code"), refused.String("request_id")), Is.EqualTo(("unavailable", "c-1")), refused.Text);
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.False, "a refused cancel changed nothing, the producer's token included");

        // The run is still driven once Redis takes the hub's scripts again.
        await user.LetBackAsync();
        Assert.That(await run.ReportProgressAsync(1, 10), Is.EqualTo(ReportResult.Accepted));
        var progress = await tabElsewhere.ReceiveUntilAsync(m => m.ProcessId == run.ProcessId && m.IsProcessEvent && m.Type != "process_started");
        Assert.That((progress.Type, progress.Seq), Is.EqualTo(("process_progress", 2L)), progress.Text);

        // Sent again, the cancel is stored; the token fired before a tab on either hub saw process_cancelled.
        await tab.SendJsonAsync(new { type = "cancel_process", process_id = run.ProcessId, request_id = "c-2" });
        var cancelledElsewhere = await tabElsewhere.ReceiveUntilAsync(m => m.ProcessId == run.ProcessId && m.IsTerminal);
        bool toldBeforeTheOtherHubsTab = run.CancellationToken.IsCancellationRequested;
        var cancelled = await tab.ReceiveUntilAsync(m => m.ProcessId == run.ProcessId && m.IsTerminal);
        Assert.That((cancelledElsewhere.Type, cancelled.Type), Is.EqualTo(("process_cancelled", "process_cancelled")), cancelled.Text);
        Assert.That(cancelled.Seq, Is.EqualTo(3), "the refused cancel took no seq");
        Assert.That(toldBeforeTheOtherHubsTab, Is.True, "the producer's token had fired when a tab on another hub saw process_cancelled");
    }

    [Test]
    public async Task A_cancel_from_another_hub_fires_the_token_before_the_end_even_while_Redis_refuses_the_producers_hub_its_scripts()
    {
        await using var hubs = await ProducersHubAndAnother.StartAsync();
        var (user, hub, run, tabElsewhere) = (hubs.User, hubs.Hub, hubs.Run, hubs.TabElsewhere);

        // What the producer's hub held when the token fired: a token fired by applying process_cancelled (which the
        // asking hub's own end brings after it waited 5 s) finds the process ended there already.
        var told = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = run.CancellationToken.Register(() => told.TrySetResult(hub.Registry.FindRecord(run.ProcessId)!.Published.IsEnded));

        // The producer's hub keeps its connections and its lease (a plain SET), but Redis refuses it every script: it
        // can neither run the cancel script nor the end script. The other hub's cancel script stores the cancel and
        // sends it over.
        await user.RefuseScriptsAsync();
        tabElsewhere.Timeout = TimeSpan.FromSeconds(30); // the end comes from the asking hub, after its 5-s wait
        await tabElsewhere.SendJsonAsync(new { type = "cancel_process", process_id = run.ProcessId, request_id = "c-1" });
        bool endedWhenTold = await told.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var cancelled = await tabElsewhere.ReceiveUntilAsync(m => m.ProcessId == run.ProcessId && m.IsTerminal);

        Assert.That(endedWhenTold, Is.False, "the producer's token fired only as its hub applied process_cancelled, which a tab on another hub may have seen first");
        Assert.That((cancelled.Type, cancelled.Seq), Is.EqualTo(("process_cancelled", 2L)), cancelled.Text);
    }
}
