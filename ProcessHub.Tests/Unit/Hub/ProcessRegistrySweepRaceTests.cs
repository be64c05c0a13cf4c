using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;
using ProcessHub.Hub.Sessions;

namespace ProcessHub.Tests.Unit.Hub;

/// <summary>
/// The sweep evicts on its timer while a shared engine's reload (<see cref="ProcessRegistry.Replace"/>) runs on the
/// applier and producers look processes up. What the registry counts of each owner's ended processes (the cap of
/// <see cref="HubOptions.MaxProcessesPerUser"/>) must come out right whichever reaches a record first, and a record the
/// sweep let go must still answer whoever found it just before.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class ProcessRegistrySweepRaceTests
{
    private const string Owner = "alice";
    private const int Cap = 10;

    [Test]
    public void A_process_the_sweep_evicts_while_a_reload_runs_is_not_counted_out_twice()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
        var options = new HubOptions { Retention = TimeSpan.FromHours(1), MaxProcessesPerUser = Cap };
        var registry = new ProcessRegistry(new Broadcaster(new SessionIndex()), options, time);
        var now = time.GetUtcNow();

        // Before the reload: running processes that Redis lost, ended ones past the retention window (the sweep's to
        // evict), and ended ones within it that Redis still holds (their successors keep the count where it was).
        var running = Enumerable.Range(0, 10).Select(i => Process($"run-{i}", now, endedAt: null)).ToList();
        var expired = Enumerable.Range(0, 10).Select(i => Process($"expired-{i}", now, endedAt: now - TimeSpan.FromHours(2))).ToList();
        var kept = Enumerable.Range(0, Cap).Select(i => Process($"kept-{i}", now, endedAt: now - TimeSpan.FromMinutes(30 - i))).ToList();
        registry.Restore(new StoredProcesses("epoch-1", [.. running, .. expired, .. kept]));

        // The sweep runs while the reload is between its look at the records and their locks. Made certain here: the
        // first running process the reload lets go ends its SSE watcher, whose OnReplaced runs the sweep then, on the
        // reload's thread. The dictionary's order decides which records the reload reaches after it; with ten running
        // and ten expired processes, at least one expired process comes after the first running one but for 1 order
        // in 184,756.
        var sweepOnce = new SweepingWatcher(registry);
        foreach (var process in running)
        {
            registry.Replay(process.ProcessId, afterSeq: null, epoch: null, new FollowingTarget(), sweepOnce);
        }

        // What Redis holds now: the ended processes within the window, one that ended since, and half of those past the
        // window (their keys wait out their time to live, and the sweep's removal from the index came after the load).
        var endedSince = Process("ended-since", now, endedAt: now);
        var expiredStillInRedis = expired.Take(5).ToList();
        registry.Replace(new StoredProcesses("epoch-1", [.. kept, endedSince, .. expiredStillInRedis]));

        // Loaded again, each is there once, with a producer token of its own (not the one its evicted record let go).
        foreach (var process in expiredStillInRedis)
        {
            Assert.That(() => registry.ProducerToken(process.ProcessId), Throws.Nothing, process.ProcessId);
        }

        // Those the reload reached before the sweep, it let go itself (Redis no longer holds them).
        Assert.That(sweepOnce.Evicted, Is.Not.Empty.And.SubsetOf(expired.Select(p => p.ProcessId)), "the sweep ran during the reload");
        Assert.That(registry.Count, Is.EqualTo(Cap + 1 + expiredStillInRedis.Count));

        // The next sweep lets those past the window go again, and then Cap + 1 ended processes of one owner are left,
        // so the oldest goes too. Counted out twice, the reload would leave the owner below the cap in the registry's
        // count, and it would stay.
        var evicted = registry.EvictExpired();

        Assert.That(evicted, Is.EquivalentTo(expiredStillInRedis.Select(p => p.ProcessId).Append("kept-0")));
        Assert.That(registry.Count, Is.EqualTo(Cap));
    }

    [Test]
    public void A_sweep_while_a_reload_lets_a_process_go_counts_it_among_the_ended_no_longer()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
        var options = new HubOptions { Retention = TimeSpan.FromHours(1), MaxProcessesPerUser = 3 };
        var registry = new ProcessRegistry(new Broadcaster(new SessionIndex()), options, time);
        var now = time.GetUtcNow();
        var kept = Enumerable.Range(0, 3).Select(i => Process($"kept-{i}", now, endedAt: now - TimeSpan.FromMinutes(30 - i))).ToList();
        var gone = Process("gone", now, endedAt: null);
        registry.Restore(new StoredProcesses("epoch-1", [.. kept, gone]));

        // An SSE stream follows "gone" while it runs; it ends before the stream has let go of it (4 ended: one past the
        // cap, for the next sweep). The reload then finds Redis without it, and the stream's OnReplaced runs the sweep.
        var sweepOnce = new SweepingWatcher(registry);
        registry.Replay(gone.ProcessId, afterSeq: null, epoch: null, new FollowingTarget(), sweepOnce);
        var record = registry.FindRecord(gone.ProcessId)!;
        var ended = gone.State with { Status = ProcessStatus.Completed, Seq = 2, EndedAt = now, LastChangedAt = now };
        registry.Publish(new PendingEvent(record, ended, HubEventKind.Completed, SharedFrame.CreateText("{}"u8), awaitable: false));
        registry.Replace(new StoredProcesses("epoch-1", kept));

        // Before the reload, the sweep would have let kept-0 go (the oldest of four ended); after it, with "gone" let go
        // by the reload, nothing. Inside it, with "gone" out of the map but still counted, it let kept-0 go as well.
        Assert.That(sweepOnce.Evicted, Is.Empty);
        Assert.That(registry.Count, Is.EqualTo(3));
    }

    [Test]
    public void A_process_the_sweep_lets_go_still_gives_its_producer_token_to_whoever_found_it_before()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
        var registry = new ProcessRegistry(new Broadcaster(new SessionIndex()), new HubOptions { Retention = TimeSpan.FromHours(1) }, time);
        var now = time.GetUtcNow();
        registry.Restore(new StoredProcesses("epoch-1", [Process("old", now, endedAt: now - TimeSpan.FromHours(2))]));

        // ProcessProducer.Find and the cancel paths look the record up, then read or fire its token without its lock.
        var found = registry.FindRecord("old")!;
        Assert.That(registry.EvictExpired(), Is.EqualTo(new[] { "old" }));

        var token = found.ProducerCancellation.Token;
        found.CancelProducer();

        Assert.That(token.IsCancellationRequested, Is.True);
    }

    private static StoredProcess Process(string id, DateTimeOffset startedAt, DateTimeOffset? endedAt)
    {
        var status = endedAt is null ? ProcessStatus.Running : ProcessStatus.Completed;
        var state = new ProcessState(status, Seq: 1, ProgressJson: "{}"u8.ToArray(), LastChangedAt: endedAt ?? startedAt, EndedAt: endedAt);
        return new StoredProcess(id, "benchmark", Owner, ParamsJson: null, startedAt - TimeSpan.FromHours(3), InProcess: false, state, Events: []);
    }

    /// <summary>An SSE stream's part in the reload: it is told the record was replaced, and then runs the sweep once.</summary>
    private sealed class SweepingWatcher(ProcessRegistry registry) : IProcessWatcher
    {
        public List<string> Evicted { get; } = [];

        private bool _swept;

        public void OnEvent(SharedFrame frame, long seq, HubEventKind kind)
        {
        }

        public void OnReplaced()
        {
            if (!_swept)
            {
                _swept = true;
                Evicted.AddRange(registry.EvictExpired());
            }
        }
    }

    /// <summary>Follows a process live from its current seq, with nothing to replay.</summary>
    private sealed class FollowingTarget : IReplayTarget
    {
        public long FollowLive(ProcessSnapshot process) => process.Seq;

        public bool CanTake(ProcessSnapshot process, long bytes) => true;

        public void OnReplayStart(ProcessSnapshot process, int replayed, bool recovered)
        {
        }

        public void OnReplayed(SharedFrame frame, long seq, HubEventKind kind)
        {
        }
    }
}
