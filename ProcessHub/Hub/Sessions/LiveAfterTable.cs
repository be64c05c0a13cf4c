namespace ProcessHub.Hub.Sessions;

/// <summary>
/// A seq per process id, sized for what an idle connection holds: an entry per process it was listed at connect
/// (often one), plus the few it unsubscribed from. Up to <see cref="MaxLinearEntries"/> entries live in one small
/// array searched linearly (40 bytes for one entry, against about 200 for the smallest Dictionary); past that, a
/// Dictionary (<see cref="LiveAfterMap"/>). Entries leave only the large form, and only for processes the hub has let
/// go (<see cref="PruneIfLarge"/>): a connection that follows a few processes sees every other one's events skipped,
/// and without that its table would grow with every process the hub ever ran.
/// </summary>
/// <remarks>
/// A mutable struct, so that an empty table costs nothing but its one field: keep it in a field of its owner, call
/// it in place, never copy it. Not thread-safe: the owner locks.
/// </remarks>
internal struct LiveAfterTable
{
    /// <summary>Past this many entries a linear search stops being cheaper than hashing, and the table switches.</summary>
    internal const int MaxLinearEntries = 8;

    // null (empty); a LiveAfterEntry[] whose used slots come first, then free ones; or a LiveAfterMap.
    private object? _store;

    public readonly int Count => _store switch
    {
        LiveAfterEntry[] entries => CountUsed(entries),
        Dictionary<string, long> map => map.Count,
        _ => 0,
    };

    public readonly bool TryGetValue(string processId, out long seq)
    {
        switch (_store)
        {
            case LiveAfterEntry[] entries:
                foreach (var entry in entries)
                {
                    if (entry.ProcessId is null)
                    {
                        break;
                    }
                    if (string.Equals(entry.ProcessId, processId, StringComparison.Ordinal))
                    {
                        seq = entry.Seq;
                        return true;
                    }
                }
                break;
            case Dictionary<string, long> map:
                return map.TryGetValue(processId, out seq);
        }
        seq = 0;
        return false;
    }

    /// <summary>
    /// Makes room for <paramref name="count"/> entries at once when the table is still empty (a connection's
    /// process list), so it is built at its final size instead of grown step by step.
    /// </summary>
    public void Reserve(int count)
    {
        if (_store is not null || count <= 0)
        {
            return;
        }
        _store = count <= MaxLinearEntries
            ? new LiveAfterEntry[count]
            : new LiveAfterMap(count);
    }

    public void Set(string processId, long seq)
    {
        switch (_store)
        {
            case null:
                _store = new[] { new LiveAfterEntry(processId, seq) };
                return;
            case Dictionary<string, long> map:
                map[processId] = seq;
                return;
        }
        var entries = (LiveAfterEntry[])_store;
        for (int i = 0; i < entries.Length; i++)
        {
            // Used slots come first and nothing is removed: the first free slot means the id is not there.
            if (entries[i].ProcessId is null || string.Equals(entries[i].ProcessId, processId, StringComparison.Ordinal))
            {
                entries[i] = new LiveAfterEntry(processId, seq);
                return;
            }
        }
        if (entries.Length < MaxLinearEntries)
        {
            var grown = new LiveAfterEntry[Math.Min(MaxLinearEntries, entries.Length * 2)];
            entries.CopyTo(grown, 0);
            grown[entries.Length] = new LiveAfterEntry(processId, seq);
            _store = grown;
            return;
        }
        var switched = new LiveAfterMap(entries.Length * 2);
        foreach (var (id, idSeq) in entries)
        {
            switched[id!] = idSeq;
        }
        switched[processId] = seq;
        _store = switched;
    }

    /// <summary>
    /// Once the large form has grown to its pruning size, drops the entries of processes <paramref name="isGone"/> says
    /// the hub no longer holds (a subscribe to one is <c>not_found</c> anyway), and sets the next size at twice what
    /// is left: each entry is looked at a bounded number of times, however many processes come and go.
    /// </summary>
    public void PruneIfLarge(Func<string, bool> isGone)
    {
        if (_store is not LiveAfterMap map || map.Count < map.PruneAt)
        {
            return;
        }
        foreach (string processId in map.Keys)
        {
            if (isGone(processId))
            {
                map.Remove(processId); // allowed while enumerating a Dictionary since .NET Core 3.0
            }
        }
        map.PruneAt = Math.Max(LiveAfterMap.FirstPruneAt, map.Count * 2);
    }

    private static int CountUsed(LiveAfterEntry[] entries)
    {
        int used = 0;
        while (used < entries.Length && entries[used].ProcessId is not null)
        {
            used++;
        }
        return used;
    }
}
