using ProcessHub.Hub.Messages;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// One process as this hub holds it: who it is, its state, and the bounded history of its events for replay.
/// </summary>
/// <remarks>
/// Two states: <see cref="Accepted"/> is the newest a producer was answered for (it decides whether the next report
/// is accepted and gets the next seq); <see cref="Published"/> is the newest that is durable and has been delivered,
/// and is all that any reader sees. With an in-memory store they are the same; with a durable one an event is
/// accepted, persisted, then published (docs/protocol.md section 10). Changes, their fan-out and replays happen
/// under <see cref="Gate"/>, so a process's events reach each connection in seq order and a replay cannot
/// interleave with a live event. The history holds the very frames that were broadcast (one reference each), so
/// replay copies nothing. Events restored at a start are held as their payloads only, and framed the first time a
/// replay asks for them: a restart restores up to a million events, and most are never replayed.
/// </remarks>
internal sealed class ProcessRecord
{
    // The history starts this small and doubles up to the limit as events arrive: allocated whole, the default limit
    // of 1,000 cost every process 9 KB up front (20,000 short processes of one user: 180 MB), most of it never used.
    private const int InitialHistoryCapacity = 4;

    private static long s_nextKey;
    private readonly int _historyLimit;
    private SharedFrame?[] _history;
    private HubEventKind[] _historyKinds;
    private ReadOnlyMemory<byte>[]? _restored; // payloads of restored events not framed yet, beside their null slots
    private IProcessWatcher[] _watchers = [];
    private ProcessState _published;
    private int _historyStart;
    private int _historyCount;
    private long _historyBytes;
    private OwnerHistory? _account;

    public ProcessRecord(string id, string type, string owner, byte[]? paramsJson, DateTimeOffset startedAt, ProcessState state, int historyLimit, bool inProcess, string? producerHub = null, IdempotencyKey? idempotency = null)
    {
        Id = id;
        Type = type;
        Owner = owner;
        ParamsJson = paramsJson;
        StartedAt = startedAt;
        Accepted = state;
        _published = state;
        InProcess = inProcess;
        ProducerHub = producerHub;
        Idempotency = idempotency;
        _historyLimit = historyLimit;
        _history = [];
        _historyKinds = [];
        CoalesceKey = Interlocked.Increment(ref s_nextKey);
    }

    public object Gate { get; } = new();
    public string Id { get; }
    public string Type { get; }
    public string Owner { get; }
    public byte[]? ParamsJson { get; }
    public DateTimeOffset StartedAt { get; }

    /// <summary>Identifies the process in outbound queues, where its progress frames coalesce.</summary>
    public long CoalesceKey { get; }

    /// <summary>
    /// Its producer lives inside this hub (the in-process API, the benchmark runner), so it cannot outlive the hub;
    /// processes driven over HTTP can, their worker reports again after a restart.
    /// </summary>
    public bool InProcess { get; }

    /// <summary>
    /// With a shared engine, the hub whose in-process producer drives it (it is failed as <c>hub_lost</c> when that
    /// hub's lease lapses); null otherwise.
    /// </summary>
    public string? ProducerHub { get; }

    /// <summary>
    /// The <c>Idempotency-Key</c> it was started with over HTTP, kept with it (a durable store writes it in the process's
    /// row) so that a repeat of the start names this process for as long as it is held; null for a start without one.
    /// </summary>
    public IdempotencyKey? Idempotency { get; }

    /// <summary>
    /// Fires when the process is cancelled, for producers inside this hub (any in-process handle on it); producers
    /// over HTTP learn it from their next report.
    /// </summary>
    public CancellationTokenSource ProducerCancellation { get; private set; } = new();

    /// <summary>
    /// Fires the producer's token: flipped now, its callbacks later on the thread pool, never under a lock (a callback
    /// may call back into the engine); a callback's failure is observed, not thrown. Under <see cref="Gate"/>, so that it
    /// fires the token <see cref="TakeProducerCancellation"/> may be handing over at that moment, not the one it disposes.
    /// </summary>
    public void CancelProducer()
    {
        lock (Gate)
        {
            Fire(ProducerCancellation);
        }
    }

    /// <summary>Fires a producer's token as <see cref="CancelProducer"/> does, for one no record holds yet.</summary>
    public static void FireProducer(CancellationTokenSource producer) => Fire(producer);

    private static void Fire(CancellationTokenSource producer)
    {
        var callbacks = producer.CancelAsync();
        if (!callbacks.IsCompletedSuccessfully)
        {
            callbacks.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>The newest state a producer was answered for; read and written under <see cref="Gate"/>.</summary>
    public ProcessState Accepted { get; set; }

    /// <summary>
    /// The end (complete, fail, cancel) taken in order and on its way to the store, under <see cref="Gate"/>: until
    /// it is stored, whether the process has ended depends on that commit, so a change that finds it waits for it.
    /// </summary>
    public PendingEvent? PendingEnd { get; set; }

    /// <summary>The newest durable, delivered state; written under <see cref="Gate"/>, read anywhere without it.</summary>
    public ProcessState Published
    {
        get => Volatile.Read(ref _published);
        set => Volatile.Write(ref _published, value);
    }

    /// <summary>The oldest seq still in history (Published.Seq + 1 when it is empty).</summary>
    public long OldestRetainedSeq => Published.Seq - _historyCount + 1;

    /// <summary>SSE streams following this process; read and replaced under <see cref="Gate"/>.</summary>
    public IProcessWatcher[] Watchers => _watchers;

    public ProcessSnapshot Snapshot() => new(this, Published);

    public void AddWatcher(IProcessWatcher watcher) => _watchers = [.. _watchers, watcher];

    public void RemoveWatcher(IProcessWatcher watcher) => _watchers = Array.FindAll(_watchers, w => w != watcher);

    /// <summary>The owner's history account this record counts in while the registry holds it; under <see cref="Gate"/>.</summary>
    public OwnerHistory? Account => _account;

    /// <summary>Starts counting this record's history in <paramref name="account"/> (what it holds already included). Under <see cref="Gate"/>.</summary>
    public void JoinAccount(OwnerHistory account)
    {
        _account = account;
        account.Add(_historyBytes);
    }

    /// <summary>Stops counting this record's history in its account; returns the account it left, if any. Under <see cref="Gate"/>.</summary>
    public OwnerHistory? LeaveAccount()
    {
        var account = _account;
        if (account is not null)
        {
            account.Add(-_historyBytes);
            _account = null;
        }
        return account;
    }

    /// <summary>Keeps the frame of the next event (itself, or an exact-size copy: <see cref="SharedFrame.ForHistory"/>); the oldest falls out past the limit.</summary>
    public void AppendHistory(SharedFrame frame, HubEventKind kind)
    {
        if (TakeNextSlot(kind, out long released) is not int slot)
        {
            return;
        }
        var kept = frame.ForHistory();
        _history[slot] = kept;
        // One add for the event kept and the one it replaced: the owner's account is shared by its processes.
        CountBytes(HeldBy(kept) - released);
    }

    /// <summary>
    /// What a kept frame holds in memory, which is what the owner's bound counts: its whole buffer (a small event's
    /// pooled buffer may be several times the event) and the frame object beside it, not only the event's bytes.
    /// </summary>
    private static long HeldBy(SharedFrame frame) => frame.BufferCapacity + FrameOverheadBytes;

    // A SharedFrame and its buffer's array header, roughly: what each kept event costs besides its buffer.
    private const int FrameOverheadBytes = 96;

    /// <summary>
    /// Keeps an event restored at a start as its payload, exactly as it was sent; <see cref="HistoryAt"/> frames it
    /// when a replay first asks for it.
    /// </summary>
    public void AppendRestored(ReadOnlyMemory<byte> payload, HubEventKind kind)
    {
        if (TakeNextSlot(kind, out long released) is not int slot)
        {
            return;
        }
        _restored ??= new ReadOnlyMemory<byte>[_history.Length];
        _restored[slot] = payload;
        CountBytes(payload.Length - released);
    }

    /// <summary>
    /// Lets the oldest retained events go, down to <paramref name="keep"/>, while the owner's account holds more than
    /// <paramref name="limitBytes"/>; returns how many went. A replay from before them is then not recovered, as for
    /// events past the history limit. Under <see cref="Gate"/>.
    /// </summary>
    public int TrimOldest(long limitBytes, int keep)
    {
        int trimmed = 0;
        while (_historyCount > keep && _account is { } account && account.Bytes > limitBytes)
        {
            CountBytes(-Release(_historyStart));
            _historyStart = (_historyStart + 1) % _history.Length;
            _historyCount--;
            trimmed++;
        }
        return trimmed;
    }

    private void CountBytes(long bytes)
    {
        _historyBytes += bytes;
        _account?.Add(bytes);
    }

    // The slot of the next event, emptied and marked with its kind: a free one (the ring grows up to the limit), or the
    // oldest's, which falls out (what it held is <paramref name="released"/>, for the caller to count). Null when no
    // history is kept.
    private int? TakeNextSlot(HubEventKind kind, out long released)
    {
        released = 0;
        if (_historyLimit == 0)
        {
            return null;
        }
        if (_historyCount == _history.Length && _history.Length < _historyLimit)
        {
            GrowHistory();
        }
        int slot;
        if (_historyCount == _history.Length)
        {
            slot = _historyStart;
            released = Release(slot);
            _historyStart = (_historyStart + 1) % _history.Length;
        }
        else
        {
            slot = (_historyStart + _historyCount) % _history.Length;
            _historyCount++;
        }
        _historyKinds[slot] = kind;
        return slot;
    }

    // Lets go of what a slot holds (its frame's reference, or a restored payload) and returns the bytes it counted,
    // for the caller to take off the account.
    private long Release(int slot)
    {
        long released = 0;
        if (_history[slot] is { } frame)
        {
            released += HeldBy(frame);
            frame.Release();
            _history[slot] = null;
        }
        if (_restored is not null)
        {
            released += _restored[slot].Length;
            _restored[slot] = default;
        }
        return released;
    }

    /// <summary>The kind of retained event <paramref name="seq"/> (valid when <see cref="HistoryAt"/> is not null).</summary>
    public HubEventKind HistoryKindAt(long seq) => _historyKinds[(_historyStart + (int)(seq - OldestRetainedSeq)) % _history.Length];

    /// <summary>The retained frame of event <paramref name="seq"/>, or null when it has fallen out. Under <see cref="Gate"/>.</summary>
    public SharedFrame? HistoryAt(long seq)
    {
        long index = seq - OldestRetainedSeq;
        if (index < 0 || index >= _historyCount)
        {
            return null;
        }
        int slot = (_historyStart + (int)index) % _history.Length;
        if (_history[slot] is null && _restored is not null)
        {
            // A restored event asked for the first time: framed now, kept framed (the history holds the reference).
            var framed = SharedFrame.CreateKeptText(_restored[slot].Span, StoredEvent.FrameKindOf(_historyKinds[slot]), CoalesceKey);
            CountBytes(HeldBy(framed) - _restored[slot].Length);
            _history[slot] = framed;
            _restored[slot] = default;
        }
        return _history[slot];
    }

    /// <summary>Makes room for <paramref name="events"/> more retained events at once (a restart restores them all).</summary>
    public void ReserveHistory(int events)
    {
        int wanted = Math.Min(_historyLimit, _historyCount + events);
        if (wanted > _history.Length)
        {
            GrowHistory(wanted);
        }
    }

    /// <summary>Doubles the history's arrays (up to the limit), or grows them to <paramref name="atLeast"/>, oldest event first.</summary>
    private void GrowHistory(int atLeast = 0)
    {
        int capacity = Math.Min(_historyLimit, Math.Max(atLeast, Math.Max(InitialHistoryCapacity, _history.Length * 2)));
        var history = new SharedFrame?[capacity];
        var kinds = new HubEventKind[capacity];
        var restored = _restored is null ? null : new ReadOnlyMemory<byte>[capacity];
        for (int i = 0; i < _historyCount; i++)
        {
            int slot = (_historyStart + i) % _history.Length;
            history[i] = _history[slot];
            kinds[i] = _historyKinds[slot];
            if (restored is not null)
            {
                restored[i] = _restored![slot];
            }
        }
        _history = history;
        _historyKinds = kinds;
        _restored = restored;
        _historyStart = 0;
    }

    /// <summary>
    /// Forgets the retained events but keeps the watchers: the history starts again at the next event. For an engine
    /// that could not fetch some events of this process, so that no retained frame sits at a wrong seq.
    /// </summary>
    public void ForgetHistory()
    {
        long released = 0;
        for (int i = 0; i < _historyCount; i++)
        {
            released += Release((_historyStart + i) % _history.Length);
        }
        CountBytes(-released);
        _historyStart = 0;
        _historyCount = 0;
    }

    /// <summary>
    /// Lets go of this record when a shared engine replaces every record (<see cref="ProcessRegistry.Replace"/>): its SSE
    /// streams end (their clients reconnect with <c>Last-Event-ID</c> and are answered from the new records), and its
    /// producer's token moves to <paramref name="successor"/>, the same process as now loaded, so that a later cancel
    /// still reaches the producer; with no successor the process is gone, and the token fires to say so.
    /// </summary>
    public void HandOver(ProcessRecord? successor)
    {
        foreach (var watcher in _watchers)
        {
            watcher.OnReplaced();
        }
        var producer = ProducerCancellation;
        if (successor is not null)
        {
            successor.TakeProducerCancellation(producer);
        }
        else
        {
            // Not disposed: the producer's handle still holds its token.
            Fire(producer);
        }
        ForgetHistory();
        _watchers = []; // the token is not disposed: it went to the successor, or stays with its producer
    }

    /// <summary>
    /// Makes <paramref name="producer"/> this process's producer token: the one a producer already holds (handed out
    /// before this record existed here, or by the record this one replaces). Fires it at once if the process was
    /// cancelled meanwhile: no event will be published here to fire it.
    /// </summary>
    public void TakeProducerCancellation(CancellationTokenSource producer)
    {
        lock (Gate)
        {
            var unused = ProducerCancellation;
            ProducerCancellation = producer;
            unused.Dispose();
            if (Published.Status == ProcessStatus.Cancelled)
            {
                Fire(producer);
            }
        }
    }

    /// <summary>Drops the history; called when the process is evicted.</summary>
    public void ReleaseHistory()
    {
        ForgetHistory();
        _watchers = [];
        // The producer's token is not disposed: a look-up just before the eviction may still read or fire it (a token
        // source without a timer holds nothing that needs disposing).
    }
}
