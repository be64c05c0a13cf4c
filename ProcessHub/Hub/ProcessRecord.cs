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

    public bool IsEnded => Status != ProcessStatus.Running;

    /// <summary>The oldest seq still in history (Seq + 1 when it is empty).</summary>
    public long OldestRetainedSeq => Seq - _historyCount + 1;

    /// <summary>Keeps a reference to the frame of event <see cref="Seq"/>; the oldest falls out past the limit.</summary>
    public void AppendHistory(SharedFrame frame)
    {
        if (_history.Length == 0)
        {
            return;
        }
        frame.AddReference();
        if (_historyCount == _history.Length)
        {
            _history[_historyStart]!.Release();
            _history[_historyStart] = frame;
            _historyStart = (_historyStart + 1) % _history.Length;
        }
        else
        {
            _history[(_historyStart + _historyCount) % _history.Length] = frame;
            _historyCount++;
        }
    }

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
        Cancellation.Dispose();
    }
}
