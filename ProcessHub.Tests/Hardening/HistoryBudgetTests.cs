using NUnit.Framework;
using ProcessHub;
using ProcessHub.Client;
using ProcessHub.Hub;
using ProcessHub.Tests.Storage;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// What one owner's histories may hold (--max-history-bytes-per-user, docs/protocol.md 5.7). Bounded only by counts
/// (1,000 running and 1,000 ended processes of 1,000 events each), an ordinary token could make the hub hold gigabytes
/// with 4 KB progress events. Over the bound the oldest kept events go first, ended processes' before running ones',
/// and another owner's histories are untouched. Clients see it as they see events past the history limit: a replay
/// from before them is not recovered.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class HistoryBudgetTests
{
    private const int Bound = 32 * 1024;
    private static readonly string Detail = new('d', 4000);

    [Test]
    public async Task An_owner_over_the_bound_keeps_its_newest_events_and_another_owner_keeps_all_of_its_own()
    {
        await using var host = HubTestHost.Start(new HubOptions { MaxHistoryBytesPerUser = Bound }, fakeTime: true);
        var alice = StartWithReports(host, "alice", 50); // about 200 KB in all
        var bob = StartWithReports(host, "bob", 5); // about 20 KB
        host.App.Timers.Sweep();

        var aliceReplay = await ReplayFromStartAsync(host, "alice", alice.ProcessId);
        var bobReplay = await ReplayFromStartAsync(host, "bob", bob.ProcessId);
        var metrics = (await host.GetAsync("/metrics", token: null)).Text;

        Assert.Multiple(() =>
        {
            Assert.That(aliceReplay.Recovered, Is.False, "alice's first events are gone: the reply says so");
            Assert.That(aliceReplay.Seqs, Is.Not.Empty);
            Assert.That(aliceReplay.Seqs.Count, Is.LessThanOrEqualTo(Bound / Detail.Length), "what is left fits in the bound");
            Assert.That(aliceReplay.Seqs, Is.EqualTo(Enumerable.Range(52 - aliceReplay.Seqs.Count, aliceReplay.Seqs.Count).Select(s => (long)s)),
                "the newest events are the ones kept, up to the last");
            Assert.That(bobReplay.Recovered, Is.True, "bob is within the bound: alice's use costs him nothing");
            Assert.That(bobReplay.Seqs, Is.EqualTo(Enumerable.Range(1, 6).Select(s => (long)s)));
            Assert.That(PrometheusText.Sample(metrics, "processhub_history_trimmed_events_total"), Is.EqualTo(51 - aliceReplay.Seqs.Count));
            Assert.That(PrometheusText.Sample(metrics, "processhub_history_bytes"), Is.InRange(Bound / 2, 2 * Bound), "alice's bound and bob's 20 KB");
        });
    }

    [Test]
    public async Task An_ended_processes_history_goes_before_a_running_ones()
    {
        await using var host = HubTestHost.Start(new HubOptions { MaxHistoryBytesPerUser = Bound }, fakeTime: true);
        var ended = StartWithReports(host, "alice", 6);
        ended.Complete();
        var running = StartWithReports(host, "alice", 6);

        // About 48 KB: over the bound, under twice it, so nothing went yet (the sweep chooses what goes).
        var endedBefore = await ReplayFromStartAsync(host, "alice", ended.ProcessId);
        host.App.Timers.Sweep();
        var endedAfter = await ReplayFromStartAsync(host, "alice", ended.ProcessId);
        var runningAfter = await ReplayFromStartAsync(host, "alice", running.ProcessId);

        Assert.Multiple(() =>
        {
            Assert.That((endedBefore.Recovered, endedBefore.Seqs.Count), Is.EqualTo((true, 8)), "before the sweep");
            Assert.That(endedAfter.Recovered, Is.False, "the ended process's oldest events went");
            Assert.That(endedAfter.Seqs, Has.Count.LessThan(8).And.Not.Contains(2L), "as many as it took to be within the bound");
            Assert.That(endedAfter.Seqs, Does.Contain(8L), "its end stays: an SSE stream of it still gets process_completed");
            Assert.That((runningAfter.Recovered, runningAfter.Seqs.Count), Is.EqualTo((true, 7)), "the running process kept all of its own");
        });
    }

    [Test]
    public async Task The_process_that_moved_last_keeps_its_history_before_one_that_went_quiet()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = HubTestHost.Start(new HubOptions { MaxHistoryBytesPerUser = Bound }, time: time);
        var quiet = StartWithReports(host, "alice", 6);
        time.Advance(TimeSpan.FromSeconds(1)); // the sweep may run now, or later: it finds the same order
        var busy = StartWithReports(host, "alice", 6);
        host.App.Timers.Sweep();

        var quietReplay = await ReplayFromStartAsync(host, "alice", quiet.ProcessId);
        var busyReplay = await ReplayFromStartAsync(host, "alice", busy.ProcessId);

        Assert.Multiple(() =>
        {
            Assert.That(quietReplay.Recovered, Is.False, "the quiet process lost its oldest events");
            Assert.That(quietReplay.Seqs, Is.Not.Empty.And.Contains(7L), "and kept at least its newest");
            Assert.That((busyReplay.Recovered, busyReplay.Seqs.Count), Is.EqualTo((true, 7)), "the busy one kept all of its own");
        });
    }

    [Test]
    public async Task An_owner_that_outruns_the_sweep_is_held_at_twice_the_bound()
    {
        // No sweep runs here (the clock stands still): what a publish trims is all that holds the owner.
        await using var host = HubTestHost.Start(new HubOptions { MaxHistoryBytesPerUser = Bound }, fakeTime: true);
        var run = StartWithReports(host, "alice", 100);

        var record = host.App.Registry.FindRecord(run.ProcessId)!;
        long kept;
        long oldest;
        lock (record.Gate)
        {
            kept = record.Account!.Bytes;
            oldest = record.OldestRetainedSeq;
        }

        Assert.That(kept, Is.InRange(2 * Bound - Detail.Length - 400, 2 * Bound), "held at the ceiling, twice the bound");
        Assert.That(oldest, Is.GreaterThan(80), "the oldest went as the newest came");
    }

    [Test]
    public async Task Histories_restored_at_a_restart_count_against_the_bound()
    {
        using var data = new DataDirectory();
        string processId;
        await using (var first = DurableHub.Start(data, new HubOptions { MaxHistoryBytesPerUser = 0 }))
        {
            // A worker over HTTP, so that the process is still running after the restart (an in-process one ends).
            using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{first.EndPoint}"), Token = first.Token("alice"), MaxRetries = 0 });
            var run = await producer.StartAsync("eval", total: 50);
            processId = run.ProcessId;
            for (int i = 1; i <= 50; i++)
            {
                Assert.That(await run.ReportAsync(i, 50, "m", Detail), Is.False, $"report {i} accepted");
            }
        }

        await using var second = DurableHub.Start(data, new HubOptions { MaxHistoryBytesPerUser = Bound });
        var record = second.App.Registry.FindRecord(processId)!;
        long oldest;
        long bytes;
        lock (record.Gate)
        {
            oldest = record.OldestRetainedSeq;
            bytes = record.Account!.Bytes;
        }

        Assert.That(bytes, Is.InRange(1, Bound), "the restored payloads were counted and trimmed at the start");
        Assert.That(oldest, Is.GreaterThan(40), "the oldest restored events went, the newest stayed");
        Assert.That(second.App.Registry.HistoryBudget.EventsTrimmed, Is.EqualTo(oldest - 1));
    }

    [Test]
    public async Task An_owner_whose_processes_are_all_gone_holds_nothing()
    {
        await using var host = HubTestHost.Start(new HubOptions { MaxHistoryBytesPerUser = Bound, Retention = TimeSpan.Zero }, fakeTime: true);
        for (int p = 0; p < 3; p++)
        {
            var run = StartWithReports(host, "alice", 3);
            run.Complete();
        }
        long held = host.App.Registry.HistoryBudget.TotalBytes;

        host.App.Timers.Sweep(); // ended with no retention: let go

        Assert.That(held, Is.GreaterThan(3 * 3 * Detail.Length), "while they were known");
        Assert.That(host.App.Registry.HistoryBudget.TotalBytes, Is.Zero);
        Assert.That(host.App.Registry.HistoryBudget.Owners, Is.Zero, "no account is left for the owner");
    }

    /// <summary>A process of <paramref name="owner"/> started in process, with <paramref name="reports"/> reports of about 4 KB each.</summary>
    private static ProcessHandle StartWithReports(HubTestHost host, string owner, int reports)
    {
        var run = host.App.Producer.Start("eval", owner, total: reports);
        for (int i = 1; i <= reports; i++)
        {
            run.ReportProgress(i, reports, "m", Detail);
        }
        return run;
    }

    private static async Task<(bool Recovered, List<long> Seqs)> ReplayFromStartAsync(HubTestHost host, string owner, string processId)
    {
        var (tab, list) = await host.OpenTabWithListAsync(owner);
        await using var _ = tab;
        await tab.SendJsonAsync(new { type = "subscribe", process_id = processId, since = 0, epoch = list.String("epoch"), request_id = "from-start" });
        var reply = await tab.ReceiveUntilAsync("subscribed");
        var seqs = new List<long>();
        for (long i = reply.Get("replayed").GetInt64(); i > 0; i--)
        {
            seqs.Add((await tab.ReceiveAsync()).Seq);
        }
        return (reply.Get("recovered").GetBoolean(), seqs);
    }
}
