using ProcessHub.Outbound;

namespace ProcessHub.Hub;

/// <summary>
/// One process: its state, its <c>seq</c>, and the bounded history of its events for replay. Every change and its
/// fan-out happen under <see cref="Gate"/>, so a process's events reach each connection in <c>seq</c> order and a
/// replay cannot interleave with a live event. The history holds the very frames that were broadcast (one
/// reference each), so replay copies nothing.
/// </summary>
internal sealed class ProcessRecord
{
    private static long s_nextKey;
    private readonly SharedFrame?[] _history;
    private readonly HubEventKind[] _historyKinds;
    private IProcessWatcher[] _watchers = [];
    private int _historyStart;
    private int _historyCount;

    public ProcessRecord(string id, string type, string owner, byte[]? paramsJson, byte[] progressJson, DateTimeOffset startedAt, int historyLimit)
    {
        Id = id;
        Type = type;
        Owner = owner;
        ParamsJson = paramsJson;
        ProgressJson = progressJson;
        StartedAt = startedAt;
        _history = new SharedFrame?[historyLimit];
        _historyKinds = new HubEventKind[historyLimit];
        CoalesceKey = Interlocked.Increment(ref s_nextKey);
    }

    public object Gate { get; } = new();
    public string Id { get; }
    public string Type { get; }
    public string Owner { get; }
    public byte[]? ParamsJson { get; }

    /// <summary>Identifies the process in outbound queues, where its progress frames coalesce.</summary>
    public long CoalesceKey { get; }

    public DateTimeOffset StartedAt { get; }
    public CancellationTokenSource Cancellation { get; } = new();

    // Mutable state: read and written under Gate.
    public ProcessStatus Status { get; set; }
    public long Seq { get; set; }
    public byte[] ProgressJson { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public byte[]? ErrorJson { get; set; }
    public byte[]? ResultJson { get; set; }

    /// <summary>Who cancelled it (a <c>sub</c>), kept so <c>process_list</c> can say it after the event has passed.</summary>
    public string? CancelledBy { get; set; }

    public bool IsEnded => Status != ProcessStatus.Running;

    /// <summary>The oldest seq still in history (Seq + 1 when it is empty).</summary>
    public long OldestRetainedSeq => Seq - _historyCount + 1;

    /// <summary>SSE streams following this process; read and replaced under <see cref="Gate"/>.</summary>
    public IProcessWatcher[] Watchers => _watchers;

    public void AddWatcher(IProcessWatcher watcher) => _watchers = [.. _watchers, watcher];

    public void RemoveWatcher(IProcessWatcher watcher) => _watchers = _watchers.Where(w => w != watcher).ToArray();

    /// <summary>Keeps a reference to the frame of event <see cref="Seq"/>; the oldest falls out past the limit.</summary>
    public void AppendHistory(SharedFrame frame, HubEventKind kind)
    {
        if (_history.Length == 0)
        {
            return;
        }
        frame.AddReference();
        int slot;
        if (_historyCount == _history.Length)
        {
            slot = _historyStart;
            _history[slot]!.Release();
            _historyStart = (_historyStart + 1) % _history.Length;
        }
        else
        {
            slot = (_historyStart + _historyCount) % _history.Length;
            _historyCount++;
        }
        _history[slot] = frame;
        _historyKinds[slot] = kind;
    }

    /// <summary>The kind of retained event <paramref name="seq"/> (valid when <see cref="HistoryAt"/> is not null).</summary>
    public HubEventKind HistoryKindAt(long seq) => _historyKinds[(_historyStart + (int)(seq - OldestRetainedSeq)) % _history.Length];

    /// <summary>The retained frame of event <paramref name="seq"/>, or null when it has fallen out.</summary>
    public SharedFrame? HistoryAt(long seq)
    {
        long index = seq - OldestRetainedSeq;
        if (index < 0 || index >= _historyCount)
        {
            return null;
        }
        return _history[(_historyStart + (int)index) % _history.Length];
    }

    /// <summary>Drops the history; called when the process is evicted.</summary>
    public void ReleaseHistory()
    {
        for (int i = 0; i < _historyCount; i++)
        {
            int slot = (_historyStart + i) % _history.Length;
            _history[slot]!.Release();
            _history[slot] = null;
        }
        _historyCount = 0;
        _watchers = [];
        Cancellation.Dispose();
    }
}
