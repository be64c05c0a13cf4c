namespace ProcessHub.Client.Internal;

/// <summary>
/// The last <c>seq</c> the consumer was given per process, within one epoch (docs/protocol.md sections 3-5): it
/// drops duplicates (a replay can overlap what was already seen) and tells which processes to resume after a drop.
/// </summary>
internal sealed class ProcessCursors
{
    private readonly Dictionary<string, Cursor> _byId = new(StringComparer.Ordinal);

    /// <summary>A new epoch, or the first list: the list is the truth and every older seq means nothing.</summary>
    public void Reset(ProcessListed list)
    {
        _byId.Clear();
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
            if (cursor.Ended || cursor.Unlisted)
            {
                continue; // ended, or already found missing at the last list (and said so then)
            }
            if (!listed.TryGetValue(id, out long listedSeq))
            {
                complete = false;
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
        foreach (var process in list.Processes)
        {
            if (_byId.ContainsKey(process.ProcessId))
            {
                continue;
            }
            // Started while away, and perhaps ended too: without its events a consumer that acts on them (an alert on
            // ProcessFailed) would miss it, though the reconnect said it recovered everything.
            if (targets.Count == limit)
            {
                complete = false;
                continue;
            }
            targets.Add(new ResumeTarget(process.ProcessId, 0, process.Seq));
        }
        return targets;
    }

    /// <summary>
    /// Takes a list as the state: listed processes are known up to their listed seq at least (an older entry does not
    /// move one back); a process missing from it is kept until the next list, then forgotten.
    /// </summary>
    public void ApplyList(ProcessListed list)
    {
        var listedIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var process in list.Processes)
        {
            listedIds.Add(process.ProcessId);
            if (!_byId.TryGetValue(process.ProcessId, out var cursor))
            {
                cursor = new Cursor();
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
            cursor = new Cursor();
            _byId[processEvent.ProcessId] = cursor;
        }
        else if (processEvent.Seq <= cursor.Seq)
        {
            return false;
        }
        cursor.Seq = processEvent.Seq;
        cursor.Ended |= processEvent.IsTerminal;
        cursor.Unlisted = false; // it has news: not gone
        return true;
    }

    private sealed class Cursor
    {
        public long Seq { get; set; }
        public bool Ended { get; set; }
        public bool Unlisted { get; set; }
    }
}
