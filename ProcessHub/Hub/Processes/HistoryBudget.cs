namespace ProcessHub.Hub.Processes;

/// <summary>
/// The per-owner bound on history bytes (<see cref="HubOptions.MaxHistoryBytesPerUser"/>, docs/protocol.md section
/// 5.7). Counts alone (processes per owner times events per process) let one ordinary token make the hub hold
/// gigabytes with large events; this bounds what any one owner's histories hold, whatever their shape. An owner's
/// account exists while the registry holds one of its processes, so the map shrinks again when owners go.
/// </summary>
internal sealed class HistoryBudget
{
    private readonly Dictionary<string, OwnerHistory> _owners = new(StringComparer.Ordinal);
    private long _trimmed;

    public HistoryBudget(long limitBytes) => LimitBytes = limitBytes;

    /// <summary>The bound per owner; 0 for none.</summary>
    public long LimitBytes { get; }

    public bool IsBounded => LimitBytes > 0;

    /// <summary>Owners with an account: those the registry holds a process of.</summary>
    public int Owners
    {
        get
        {
            lock (_owners)
            {
                return _owners.Count;
            }
        }
    }

    /// <summary>Events let go before their time (the history limit or the retention window) to keep an owner within the bound.</summary>
    public long EventsTrimmed => Interlocked.Read(ref _trimmed);

    /// <summary>Bytes kept in history over every owner (a moment's view, for /metrics).</summary>
    public long TotalBytes
    {
        get
        {
            lock (_owners)
            {
                long total = 0;
                foreach (var (_, account) in _owners)
                {
                    total += account.Bytes;
                }
                return total;
            }
        }
    }

    /// <summary>
    /// Twice the bound: what an owner's histories may reach between two sweeps before a publish trims the history it
    /// adds to. The sweep trims in a better order (ended processes first), but only four times a second.
    /// </summary>
    public long CeilingBytes => LimitBytes * 2;

    public bool IsOver(OwnerHistory account) => IsBounded && account.Bytes > LimitBytes;

    public bool IsOverCeiling(OwnerHistory account) => IsBounded && account.Bytes > CeilingBytes;

    public void CountTrimmed(int events) => Interlocked.Add(ref _trimmed, events);

    /// <summary>Opens (or finds) the owner's account and puts <paramref name="record"/> in it.</summary>
    public OwnerHistory Join(ProcessRecord record)
    {
        lock (_owners)
        {
            if (!_owners.TryGetValue(record.Owner, out var account))
            {
                account = new OwnerHistory(record.Owner);
                _owners.Add(record.Owner, account);
            }
            account.Records.Add(record);
            return account;
        }
    }

    /// <summary>Takes <paramref name="record"/> out of its account; the account goes with the owner's last record.</summary>
    public void Leave(OwnerHistory account, ProcessRecord record)
    {
        lock (_owners)
        {
            if (account.Records.Remove(record) && account.Records.Count == 0 && _owners.GetValueOrDefault(account.Owner) == account)
            {
                _owners.Remove(account.Owner);
            }
        }
    }

    /// <summary>The accounts over the bound, each with its records at this moment (for the sweep, outside this lock).</summary>
    public List<(OwnerHistory Account, ProcessRecord[] Records)> OverBound()
    {
        var over = new List<(OwnerHistory, ProcessRecord[])>();
        if (!IsBounded)
        {
            return over;
        }
        lock (_owners)
        {
            foreach (var (_, account) in _owners)
            {
                if (account.Bytes > LimitBytes)
                {
                    over.Add((account, [.. account.Records]));
                }
            }
        }
        return over;
    }
}
