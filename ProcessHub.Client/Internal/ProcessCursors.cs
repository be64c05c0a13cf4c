namespace ProcessHub.Client.Internal;

/// <summary>
/// The last <c>seq</c> the consumer was given per process, within one epoch (docs/protocol.md sections 3-5): it
/// drops duplicates (a replay can overlap what was already seen) and tells which processes to resume after a drop.
/// </summary>
internal sealed class ProcessCursors
{
    // Forgotten processes (missing from two lists in a row) are remembered this many at most, with the last seq given:
    // one that is listed again (an admin's bounded list, a failover to a hub behind) resumes from there rather than
    // from its first event, which the consumer already had.
    private const int ForgottenKept = 4096;

    // Events replayed from the first for processes the watcher did not know, per reconnect: whole histories could
    // otherwise fill the connection's outbound queue (docs/protocol.md 7.1) and have it closed with 4429 at each try.
    private const long NewProcessEventBudget = 2000;

    private readonly Dictionary<string, Cursor> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Seq, bool Ended, long Stamp)> _forgotten = new(StringComparer.Ordinal);
    private readonly Queue<(string Id, long Stamp)> _forgottenOrder = new(); // oldest first; an entry is current while its stamp is the dictionary's
    private long _stamps;

    // The hub's time of the last list: a process unknown to the watcher that started before it was there then, only
    // left out (an admin's bounded list), and is not replayed from its first event (it may have ended long ago).
    private DateTimeOffset? _listedAt;

    /// <summary>A new epoch, or the first list: the list is the truth and every older seq means nothing.</summary>
    public void Reset(ProcessListed list)
    {
        _byId.Clear();
        _forgotten.Clear();
        _forgottenOrder.Clear();
        ApplyList(list);
    }

    /// <summary>
    /// After a reconnect in the same epoch: the running processes known before that moved on meanwhile, to be
    /// replayed with <c>subscribe ... since</c>, and the listed processes not known at all (started while away: their
    /// whole history, since 0). <paramref name="complete"/> is false when some cannot be: a known running process
    /// missing from the list (it ended and was evicted), or more than <paramref name="limit"/> of them (the hub's
    /// message rate limit would refuse the rest).
    /// </summary>
    public List<ResumeTarget> PlanResume(ProcessListed list, int limit, out bool complete)
    {
        complete = true;
        var listed = new Dictionary<string, long>(list.Processes.Count, StringComparer.Ordinal);
        foreach (var process in list.Processes)
        {
            listed[process.ProcessId] = process.Seq;
        }
        var targets = new List<ResumeTarget>();
        foreach (var (id, cursor) in _byId)
        {
            if (cursor.Ended)
            {
                continue;
            }
            if (!listed.TryGetValue(id, out long listedSeq))
            {
                // Missing: gone, or a hub behind. Said once, at the list that first lacked it.
                complete &= cursor.Unlisted;
            }
            else if (listedSeq > cursor.Seq)
            {
                if (targets.Count == limit)
                {
                    complete = false;
                    continue;
                }
                targets.Add(new ResumeTarget(id, cursor.Seq, listedSeq));
            }
        }
        long budget = NewProcessEventBudget;
        foreach (var process in list.Processes)
        {
            if (_byId.ContainsKey(process.ProcessId))
            {
                continue;
            }
            // Started while away, and perhaps ended too: without its events a consumer that acts on them (an alert on
            // ProcessFailed) would miss it, though the reconnect said it recovered everything. One forgotten and
            // listed again resumes from the last seq it was given.
            long since = _forgotten.TryGetValue(process.ProcessId, out var given) ? given.Seq : 0;
            if (process.Seq <= since || (since == 0 && _listedAt is { } listedAt && process.StartedAt < listedAt))
            {
                continue;
            }
            if (targets.Count == limit || (since == 0 && process.Seq > budget))
            {
                complete = false;
                continue;
            }
            if (since == 0)
            {
                budget -= process.Seq;
            }
            targets.Add(new ResumeTarget(process.ProcessId, since, process.Seq));
        }
        return targets;
    }

    /// <summary>
    /// Takes a list as the state: listed processes are known up to their listed seq at least (an older entry does not
    /// move one back); a process missing from it is kept until the next list, then forgotten.
    /// </summary>
    public void ApplyList(ProcessListed list)
    {
        _listedAt = list.Timestamp;
        var listedIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var process in list.Processes)
        {
            listedIds.Add(process.ProcessId);
            if (!_byId.TryGetValue(process.ProcessId, out var cursor))
            {
                cursor = Remembered(process.ProcessId);
                _byId[process.ProcessId] = cursor;
            }
            // Within one epoch an entry can be older than what was given already: a hub that is behind after a
            // failover (docs/protocol.md 11.4) lists a process that ended as running. The newer state stands.
            if (process.Seq >= cursor.Seq)
            {
                cursor.Seq = process.Seq;
                cursor.Ended = process.Status != ProcessState.Running;
            }
        }
        foreach (var (id, cursor) in _byId)
        {
            if (listedIds.Contains(id))
            {
                cursor.Unlisted = false;
            }
            else if (cursor.Unlisted)
            {
                _byId.Remove(id); // missing from two lists in a row: it is gone (ended and evicted)
                Forget(id, cursor);
            }
            else
            {
                // Missing once: gone, or this hub is behind (a failover in the same epoch, docs/protocol.md 11.4) and
                // will send its events once it catches up. Its seq is kept until the next list, so those events are
                // dropped as already given rather than passed on a second time.
                cursor.Unlisted = true;
            }
        }
    }

    /// <summary>True when <paramref name="processEvent"/> is new to the consumer (its seq is past the last one given); records it.</summary>
    public bool Accept(ProcessEvent processEvent)
    {
        if (!_byId.TryGetValue(processEvent.ProcessId, out var cursor))
        {
            if (_forgotten.TryGetValue(processEvent.ProcessId, out var forgotten) && processEvent.Seq <= forgotten.Seq)
            {
                return false; // given before it was forgotten (a hub behind catching up): it stays forgotten
            }
            cursor = Remembered(processEvent.ProcessId);
            _byId[processEvent.ProcessId] = cursor;
        }
        if (processEvent.Seq <= cursor.Seq)
        {
            return false;
        }
        cursor.Seq = processEvent.Seq;
        cursor.Ended |= processEvent.IsTerminal;
        cursor.Unlisted = false; // it has news: not gone
        return true;
    }

    // A cursor for a process coming back into view: at the seq it was forgotten at, if it is still remembered.
    private Cursor Remembered(string processId) =>
        _forgotten.Remove(processId, out var forgotten) ? new Cursor { Seq = forgotten.Seq, Ended = forgotten.Ended } : new Cursor();

    private void Forget(string processId, Cursor cursor)
    {
        long stamp = ++_stamps;
        _forgotten[processId] = (cursor.Seq, cursor.Ended, stamp);
        _forgottenOrder.Enqueue((processId, stamp));
        // The oldest go past the bound; entries of processes remembered again (or forgotten again since) are stale
        // and only trimmed, so the queue stays within twice the bound.
        while ((_forgotten.Count > ForgottenKept || _forgottenOrder.Count > 2 * ForgottenKept) && _forgottenOrder.TryDequeue(out var oldest))
        {
            if (!_forgotten.TryGetValue(oldest.Id, out var current) || current.Stamp != oldest.Stamp)
            {
                continue; // stale
            }
            if (_forgotten.Count > ForgottenKept)
            {
                _forgotten.Remove(oldest.Id);
            }
            else
            {
                _forgottenOrder.Enqueue(oldest); // current, and within the bound: kept (the queue is being trimmed of stale ones)
            }
        }
    }

    private sealed class Cursor
    {
        public long Seq { get; set; }
        public bool Ended { get; set; }
        public bool Unlisted { get; set; }
    }
}
