using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;
using ProcessHub.Hub.Sessions;

namespace ProcessHub.Tests.Unit.Hub;

/// <summary>
/// A shared engine's reload (<see cref="ProcessRegistry.Replace"/>) runs on the applier while the sweep evicts on its
/// timer. What the registry counts of each owner's ended processes (the cap of <see cref="HubOptions.MaxProcessesPerUser"/>)
/// must come out right whichever of the two reaches a record first.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class ProcessRegistryReplaceTests
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
