using System.Collections.Concurrent;
using ProcessHub.Auth;
using ProcessHub.Hub.Messages;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// Every process this hub knows: running ones, and ended ones for the retention window, each with its published
/// state and retained events. The one place where events are published (history, fan-out, SSE watchers) and the
/// one replay path. Readers get <see cref="ProcessSnapshot"/>s and never take a lock; changes come from the
/// engine (<see cref="IProcessEngine"/>) through <see cref="Publish"/>.
/// </summary>
internal sealed class ProcessRegistry
{
    private readonly ConcurrentDictionary<string, ProcessRecord> _processes = new(StringComparer.Ordinal);
    private readonly IEventFanOut _fanOut;
    private readonly HubOptions _options;
    private readonly TimeProvider _time;

    // Ended processes still known, per owner: past HubOptions.MaxProcessesPerUser the oldest go before their time.
    private readonly OwnerTally _ended = new();
    private readonly HistoryBudget _budget;
    private long _eventsPublished;

    public ProcessRegistry(IEventFanOut fanOut, HubOptions options, TimeProvider time)
    {
        _fanOut = fanOut;
        _options = options;
        _time = time;
        _budget = new HistoryBudget(options.MaxHistoryBytesPerUser);
    }

    /// <summary>What the processes' histories hold, per owner and in all (docs/protocol.md 5.7).</summary>
    public HistoryBudget HistoryBudget => _budget;

    /// <summary>The epoch the seqs belong to (docs/protocol.md section 3); set by the engine when its store opens.</summary>
    private int _replacements;

    public string Epoch { get; private set; } = "";

    /// <summary>
    /// Set by an engine shared with other hubs: a client may have been sent later seqs by another hub than this one
    /// has applied (a failover to a hub still catching up), so a since past a process's seq is not a client ahead
    /// of the history: the events come as this hub catches up.
    /// </summary>
    public bool MayLagBehindClients { get; set; }

    /// <summary>
    /// How many times <see cref="Replace"/> has finished. A connection that builds its list while a replace runs
    /// compares it before and after (the epoch alone cannot tell: a replace may keep it, and it changes before the
    /// records are swapped).
    /// </summary>
    public int Replacements => Volatile.Read(ref _replacements);

    public int Count => _processes.Count;

    public long EventsPublished => Interlocked.Read(ref _eventsPublished);

    public HubOptions Options => _options;

    /// <summary>
    /// Raised after <see cref="Replace"/>: the history every connection holds belongs to an epoch that is gone, so the
    /// sessions send each connection a fresh <c>process_list</c> (docs/protocol.md section 11).
    /// </summary>
    public event Action? Replaced;

    // Tokens handed to producers of processes started here whose start this hub has not applied yet (see
    // StartedProducerToken); each record takes its own when it arrives.
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _awaitedProducers = new(StringComparer.Ordinal);

    /// <summary>Takes over what a store kept: its epoch, and its processes with their retained events as sent.</summary>
    public void Restore(StoredProcesses stored)
    {
        Epoch = stored.Epoch;
        foreach (var process in stored.Processes)
        {
            Add(process);
        }
    }

    /// <summary>
    /// Replaces everything with what a shared engine holds now (its data was lost, or this hub fell too far behind to
    /// catch up event by event), then tells the sessions (<see cref="Replaced"/>). Called by the engine's single
    /// applier, so no event is published meanwhile. A process in both the old view and the new one is swapped in place,
    /// under the old record's lock, after the old record handed over its producer's token and ended its SSE streams: a
    /// look-up never finds the id missing, nor a new record whose token its producer does not hold.
    /// </summary>
    public void Replace(StoredProcesses stored)
    {
        var successors = new Dictionary<string, ProcessRecord>(stored.Processes.Count, StringComparer.Ordinal);
        foreach (var process in stored.Processes)
        {
            successors[process.ProcessId] = Build(process);
        }
        Epoch = stored.Epoch;
        foreach (var process in _processes.Values)
        {
            successors.Remove(process.Id, out var successor);
            lock (process.Gate)
            {
                // The sweep (on its own timer) may have evicted it since the look above: let go and counted out then.
                bool evicted = !_processes.TryGetValue(process.Id, out var current) || !ReferenceEquals(current, process);
                if (!evicted)
                {
                    // Counted out before it leaves the map: a sweep meanwhile (from a watcher told below, or on its
                    // timer) must not count an ended process it can no longer see, and evict another in its place.
                    if (process.Published.IsEnded)
                    {
                        _ended.Remove(process.Owner);
                    }
                    if (successor is null)
                    {
                        // Gone before its producer's token fires: a producer that looks it up on being woken finds it
                        // gone, not still running (the benchmark runner's log says which it was).
                        _processes.TryRemove(KeyValuePair.Create(process.Id, process));
                    }
                    process.HandOver(successor);
                    LeaveBudget(process);
                }
                if (successor is not null)
                {
                    Insert(successor);
                }
            }
        }
        foreach (var successor in successors.Values)
        {
            Insert(successor); // new to this hub
        }
        // Counted before the sessions are told: one that RelistAll skips (not ready yet) sees the count move.
        Interlocked.Increment(ref _replacements);
        Replaced?.Invoke();
    }

    /// <summary>Adds one process as a store holds it, with its retained events.</summary>
    public ProcessRecord Add(StoredProcess process)
    {
        var record = Build(process);
        Insert(record);
        return record;
    }

    /// <summary>A record of a stored process with its retained events, not yet visible to anyone.</summary>
    private ProcessRecord Build(StoredProcess process)
    {
        var record = new ProcessRecord(process.ProcessId, process.ProcessType, process.Owner, process.ParamsJson, process.StartedAt,
            process.State, _options.HistoryLimit, process.InProcess, process.ProducerHub, process.Idempotency);
        lock (record.Gate)
        {
            // The store keeps a contiguous tail of events ending at the state's seq, which is what history is.
            // All at once, not by doubling: at a restart the doublings' garbage was 11 MB of RSS.
            record.ReserveHistory(process.Events.Count);
            foreach (var kept in process.Events)
            {
                record.AppendRestored(kept.Payload, kept.Kind);
            }
        }
        return record;
    }

    private void Insert(ProcessRecord record)
    {
        lock (record.Gate)
        {
            JoinBudget(record);
        }
        _processes[record.Id] = record;
        HandAwaitedTokenTo(record);
        if (record.Published.IsEnded)
        {
            _ended.Add(record.Owner);
        }
    }

    public ProcessSnapshot? Find(string processId) =>
        _processes.TryGetValue(processId, out var record) ? record.Snapshot() : null;

    /// <summary>The record itself, for the engine that changes it.</summary>
    internal ProcessRecord? FindRecord(string processId) => _processes.GetValueOrDefault(processId);

    /// <summary>Every record, for the engine's maintenance (staleness); no lock is held.</summary>
    // Enumerated, not .Values: that takes every lock of the dictionary and copies every record into a new array, at
    // each sweep (4 a second) and each connect, which with a shared engine's processes of every user is a large copy.
    // The enumeration sees every record present when it starts; one added meanwhile is published live anyway.
    internal IEnumerable<ProcessRecord> Records
    {
        get
        {
            foreach (var (_, process) in _processes)
            {
                yield return process;
            }
        }
    }

    /// <summary>Fires when the process is cancelled, for its producers inside this hub; none for an unknown process.</summary>
    public CancellationToken ProducerToken(string processId) =>
        FindRecord(processId)?.ProducerCancellation.Token ?? CancellationToken.None;

    /// <summary>
    /// The token of a process this hub just started, for its producer, also when the start is not applied here yet (a
    /// shared engine that answered before the start came back to this hub): the record takes that token when it
    /// arrives, so a later cancel still reaches the producer.
    /// </summary>
    public CancellationToken StartedProducerToken(string processId)
    {
        if (FindRecord(processId) is { } record)
        {
            return record.ProducerCancellation.Token;
        }
        var awaited = _awaitedProducers.GetOrAdd(processId, static _ => new CancellationTokenSource());
        if (FindRecord(processId) is { } arrived)
        {
            HandAwaitedTokenTo(arrived); // it arrived between the two look-ups
        }
        return awaited.Token;
    }

    /// <summary>
    /// Fires the token a producer holds for a process whose start this hub has not applied yet (a cancel that came
    /// first); false when there is none. The record takes the fired token when the start arrives.
    /// </summary>
    public bool CancelAwaitedProducer(string processId)
    {
        if (!_awaitedProducers.IsEmpty && _awaitedProducers.TryGetValue(processId, out var awaited))
        {
            ProcessRecord.FireProducer(awaited);
            return true;
        }
        return false;
    }

    /// <summary>Whether a producer holds a token of this process that waits for its start to be applied here.</summary>
    public bool AwaitsProducer(string processId) => !_awaitedProducers.IsEmpty && _awaitedProducers.ContainsKey(processId);

    private void HandAwaitedTokenTo(ProcessRecord record)
    {
        if (!_awaitedProducers.IsEmpty && _awaitedProducers.TryRemove(record.Id, out var awaited))
        {
            record.TakeProducerCancellation(awaited);
        }
    }

    /// <summary>
    /// Processes this user may see (own, or all for an admin), oldest first. Each is read under its lock, never in the
    /// middle of a publish: a session that registered for fan-out before this call then gets, for each process,
    /// either the event in the list or the event live, never both and never neither (docs/protocol.md section 5).
    /// </summary>
    public List<ProcessSnapshot> SnapshotVisible(UserIdentity identity)
    {
        var visible = new List<ProcessSnapshot>();
        foreach (var (_, process) in _processes)
        {
            if (identity.IsAdmin || process.Owner == identity.Subject)
            {
                lock (process.Gate)
                {
                    visible.Add(process.Snapshot());
                }
            }
        }
        visible.Sort((a, b) => a.StartedAt.CompareTo(b.StartedAt));
        return visible;
    }

    /// <summary>
    /// Publishes an event that is durable: the state every reader sees moves to it, its frame joins the history and
    /// goes to every session that may see it and to the process's SSE watchers. Called by the store, in seq order
    /// per process.
    /// </summary>
    public void Publish(PendingEvent pending)
    {
        var process = pending.Process;
        try
        {
            lock (process.Gate)
            {
                if (pending.Kind == HubEventKind.Started)
                {
                    JoinBudget(process);
                    _processes[process.Id] = process;
                    HandAwaitedTokenTo(process);
                }
                process.Published = pending.State;
                if (pending.State.IsEnded)
                {
                    _ended.Add(process.Owner);
                }
                if (pending.Kind == HubEventKind.Cancelled)
                {
                    // The producer is told before anyone can see process_cancelled (whoever sees it may rely on that),
                    // and only once the cancel is stored: a cancel the store refused leaves the producer going.
                    process.CancelProducer();
                }
                process.AppendHistory(pending.Frame, pending.Kind);
                if (process.Account is { } account && _budget.IsOverCeiling(account))
                {
                    // The sweep (every 250 ms) brings an owner back within the bound, in the order that loses least
                    // (TrimOverBudget); this only stops an owner that outruns it, with the one history this lock holds.
                    // The event just kept stays: a client that missed only it can still resume.
                    _budget.CountTrimmed(process.TrimOldest(_budget.CeilingBytes, keep: 1));
                }
                Interlocked.Increment(ref _eventsPublished);
                _fanOut.Publish(process.Owner, process.Id, pending.Seq, pending.Frame);
                foreach (var watcher in process.Watchers)
                {
                    watcher.OnEvent(pending.Frame, pending.Seq, pending.Kind);
                }
            }
        }
        finally
        {
            pending.Frame.Release();
        }
        pending.MarkPublished();
    }

    /// <summary>
    /// The one replay path (docs/protocol.md section 4, <c>subscribe</c>; section 1, SSE <c>Last-Event-ID</c>). Under
    /// the process's lock: <paramref name="target"/> starts following live events (and <paramref name="watcher"/>, if
    /// given, is registered while the process runs), then receives the retained events after
    /// <paramref name="afterSeq"/> up to where live delivery takes over. Nothing is replayed when
    /// <paramref name="afterSeq"/> is null, or when <paramref name="epoch"/> names another epoch, whose seqs mean
    /// nothing here (recovered is false then). Recovered is true when every event after <paramref name="afterSeq"/>
    /// is replayed or will arrive live.
    /// </summary>
    public ReplayOutcome Replay(string processId, long? afterSeq, string? epoch, IReplayTarget target, IProcessWatcher? watcher = null)
    {
        while (true)
        {
            if (FindRecord(processId) is not { } process)
            {
                return ReplayOutcome.NotFound;
            }
            lock (process.Gate)
            {
                // Replaced (a shared engine reloaded) or evicted between the look-up and the lock: a watcher added to
                // this record now would never hear of it again. The current record, if any, is the one to follow.
                if (!ReferenceEquals(FindRecord(processId), process))
                {
                    continue;
                }
                return ReplayLocked(process, afterSeq, epoch, target, watcher);
            }
        }
    }

    /// <summary>The replay itself, under <paramref name="process"/>'s lock, on the record that is current.</summary>
    private ReplayOutcome ReplayLocked(ProcessRecord process, long? afterSeq, string? epoch, IReplayTarget target, IProcessWatcher? watcher)
    {
        var snapshot = process.Snapshot();
        long liveAfter = target.FollowLive(snapshot);
        if (watcher is not null && !snapshot.IsEnded)
        {
            process.AddWatcher(watcher);
        }

        long first = 0;
        long last = -1;
        // Seqs of another epoch are not this process's, with or without a since: the client rebuilds from the reply's
        // process (as "*" says for a foreign epoch too; an id said recovered when no since came with it).
        bool recovered = epoch is null || epoch == Epoch;
        if (afterSeq is long since && recovered)
        {
            // since is any non-negative integer a client sends (long.MaxValue too): its successor must not wrap.
            long next = since == long.MaxValue ? since : since + 1;
            first = Math.Max(next, process.OldestRetainedSeq);
            last = liveAfter;
            // A since past every seq the process has had is a client ahead of this history (a store restored from a
            // backup without --new-epoch, docs/protocol.md 10.7): it would drop the next events as seen already, so
            // it is told to rebuild from the reply's process instead of being told that it is whole.
            recovered = (next >= process.OldestRetainedSeq || since >= liveAfter) && (since <= snapshot.Seq || MayLagBehindClients);
        }
        if (last >= first && !target.CanTake(snapshot, ReplayBytes(process, first, last)))
        {
            // Too much to queue now: no event rather than some, and the reply's process state stands in for them.
            target.OnReplayStart(snapshot, 0, recovered: false);
            return snapshot.IsEnded ? ReplayOutcome.Ended : ReplayOutcome.Following;
        }
        target.OnReplayStart(snapshot, (int)Math.Max(0, last - first + 1), recovered);
        for (long seq = first; seq <= last; seq++)
        {
            if (process.HistoryAt(seq) is { } frame)
            {
                target.OnReplayed(frame, seq, process.HistoryKindAt(seq));
            }
        }
        return snapshot.IsEnded ? ReplayOutcome.Ended : ReplayOutcome.Following;
    }

    private static long ReplayBytes(ProcessRecord process, long first, long last)
    {
        long bytes = 0;
        for (long seq = first; seq <= last; seq++)
        {
            bytes += process.HistoryAt(seq)?.Length ?? 0;
        }
        return bytes;
    }

    public void Unwatch(string processId, IProcessWatcher watcher)
    {
        if (FindRecord(processId) is { } process)
        {
            lock (process.Gate)
            {
                process.RemoveWatcher(watcher);
            }
        }
    }

    /// <summary>
    /// Removes processes that ended longer ago than the retention window, and the oldest ended processes of an owner
    /// who has more than <see cref="HubOptions.MaxProcessesPerUser"/> of them; returns their ids. Then brings every
    /// owner whose histories hold more than <see cref="HubOptions.MaxHistoryBytesPerUser"/> back within it.
    /// </summary>
    public List<string> EvictExpired()
    {
        var cutoff = _time.GetUtcNow() - _options.Retention;
        var evicted = new List<string>();
        foreach (var (_, process) in _processes)
        {
            if (process.Published.EndedAt is { } ended && ended <= cutoff)
            {
                Evict(process, evicted);
            }
        }
        foreach (var (owner, count) in _ended.Counts)
        {
            if (count > _options.MaxProcessesPerUser)
            {
                EvictOldestEnded(owner, count - _options.MaxProcessesPerUser, evicted);
            }
        }
        TrimOverBudget();
        return evicted;
    }

    /// <summary>
    /// For each owner over the history bound, oldest events first and only as many as it takes: those of its ended
    /// processes go first, of the one that ended longest ago first (their final state is in every list; a replay of
    /// their events is the least likely); then those of its running processes, the least recently changed first. Each
    /// keeps its newest event: an SSE stream of an ended process must still get its end (decision 71).
    /// </summary>
    private void TrimOverBudget()
    {
        foreach (var (account, records) in _budget.OverBound())
        {
            // Keys read once: a record's state may move while they are sorted.
            var order = new (bool Running, DateTimeOffset At, ProcessRecord Process)[records.Length];
            for (int i = 0; i < records.Length; i++)
            {
                var state = records[i].Published;
                order[i] = (!state.IsEnded, state.EndedAt ?? state.LastChangedAt, records[i]);
            }
            Array.Sort(order, static (a, b) => a.Running != b.Running ? a.Running.CompareTo(b.Running) : a.At.CompareTo(b.At));
            foreach (var (_, _, process) in order)
            {
                if (!_budget.IsOver(account))
                {
                    break;
                }
                lock (process.Gate)
                {
                    if (process.Account == account)
                    {
                        _budget.CountTrimmed(process.TrimOldest(_budget.LimitBytes, keep: 1));
                    }
                }
            }
        }
    }

    // Under the record's lock.
    private void JoinBudget(ProcessRecord record)
    {
        if (record.Account is null)
        {
            record.JoinAccount(_budget.Join(record));
        }
    }

    // Under the record's lock, once its history is let go.
    private void LeaveBudget(ProcessRecord record)
    {
        if (record.LeaveAccount() is { } account)
        {
            _budget.Leave(account, record);
        }
    }

    // Rare (an owner ending processes faster than the retention window lets them go), so a walk and a sort are fine.
    private void EvictOldestEnded(string owner, int excess, List<string> evicted)
    {
        var ended = new List<(DateTimeOffset EndedAt, ProcessRecord Process)>();
        foreach (var (_, process) in _processes)
        {
            if (process.Owner == owner && process.Published.EndedAt is { } endedAt)
            {
                ended.Add((endedAt, process));
            }
        }
        ended.Sort((a, b) => a.EndedAt.CompareTo(b.EndedAt));
        for (int i = 0; i < Math.Min(excess, ended.Count); i++)
        {
            Evict(ended[i].Process, evicted);
        }
    }

    private void Evict(ProcessRecord process, List<string> evicted)
    {
        lock (process.Gate)
        {
            if (_processes.TryRemove(KeyValuePair.Create(process.Id, process)))
            {
                process.ReleaseHistory();
                LeaveBudget(process);
                _ended.Remove(process.Owner);
                evicted.Add(process.Id);
            }
        }
    }
}
