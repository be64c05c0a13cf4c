using ProcessHub.Auth;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// The hub's view of one WebSocket connection: who it is, what it wants, and the events held for it while its
/// <c>process_list</c> is being built (so the list is always first and nothing is lost or doubled around it).
/// </summary>
internal sealed class HubSession
{
    private readonly object _holdGate = new();
    // Events held until process_list is out; null from then on, which is what "ready" means (no separate flag: one
    // field less per connection). Written under _holdGate, read without it by Deliver.
    private List<(SharedFrame Frame, string ProcessId, long Seq)>? _held = [];
    private Interest _interest = Interest.Everything;

    // Per process: the highest seq this connection was NOT sent live (events after it were, or will be, sent live).
    // Written at process_list time, at explicit subscribes and when an event is skipped for lack of interest; read by
    // subscribe's replay. Guarded by _holdGate. Allocates nothing until the first entry, and little for a few:
    // idle memory per connection is a headline figure.
    private LiveAfterTable _liveAfter;

    // Kept in this object rather than beside it, for the same reason. Used by the receive loop only.
    private MessageRateLimiter _messageBudget;

    // UTC as a DateTime (8 bytes) rather than a DateTimeOffset (16): the offset is always zero.
    private readonly DateTime _authDeadlineUtc;

    // Whether the hub has let a process go: what lets a long-lived connection's live-after table drop entries.
    private readonly Func<string, bool>? _isGone;

    /// <param name="isGone">Whether the hub no longer holds a process (none: the live-after table is never pruned).</param>
    public HubSession(IOutboundConnection connection, DateTimeOffset authDeadline, Func<string, bool>? isGone = null)
    {
        Connection = connection;
        _authDeadlineUtc = authDeadline.UtcDateTime;
        _isGone = isGone;
    }

    public IOutboundConnection Connection { get; }
    public UserIdentity? Identity { get; private set; }
    public DateTimeOffset AuthDeadline => new(_authDeadlineUtc);
    public bool IsAuthenticated => Identity is not null;
    public bool IsReady => Volatile.Read(ref _held) is null;
    public Interest Interest => Volatile.Read(ref _interest);

    /// <summary>Set once at authentication; a later auth with the same sub only moves the expiry.</summary>
    public void SetIdentity(UserIdentity identity) => Identity = identity;

    public void SetInterest(Interest interest) => Volatile.Write(ref _interest, interest);

    /// <summary>
    /// Adds one process to what this connection follows, atomically: a subscribe answered once the engine has caught
    /// up runs off the receive loop, beside the connection's next message.
    /// </summary>
    public void Include(string processId)
    {
        Interest current, changed;
        do
        {
            current = Interest;
            changed = current.With(processId, _isGone);
        }
        while (!ReferenceEquals(Interlocked.CompareExchange(ref _interest, changed, current), current));
    }

    /// <summary>Takes one process out of what this connection follows, atomically (see <see cref="Include"/>).</summary>
    public void Exclude(string processId)
    {
        Interest current, changed;
        do
        {
            current = Interest;
            changed = current.WithoutProcess(processId, _isGone);
        }
        while (!ReferenceEquals(Interlocked.CompareExchange(ref _interest, changed, current), current));
    }

    /// <summary>docs/protocol.md section 4's per-connection message budget; called on the receive loop only, so no lock.</summary>
    public RateDecision TakeMessageToken(int messagesPerSecond, TimeProvider time) => _messageBudget.Take(messagesPerSecond, time);

    public bool MaySee(ProcessSnapshot process) => Identity is { } identity && process.IsVisibleTo(identity);

    /// <summary>Queues a frame made for this session alone (a reply) and drops the caller's reference to it.</summary>
    public void SendAndRelease(SharedFrame frame)
    {
        try
        {
            Connection.Send(frame);
        }
        finally
        {
            frame.Release();
        }
    }

    /// <summary>
    /// Fan-out's per-connection step, called under the process's lock. No allocation, no wait on the socket.
    /// </summary>
    public void Deliver(SharedFrame frame, string processId, long seq)
    {
        if (!IsReady && TryHold(frame, processId, seq))
        {
            return;
        }
        if (Volatile.Read(ref _interest).Includes(processId))
        {
            Connection.Send(frame);
        }
        else
        {
            // Not sent live (unsubscribed): a later subscribe ... since must replay it, even if "*" is back by then.
            SetLiveAfter(processId, seq);
        }
    }

    /// <summary>
    /// Sends <c>process_list</c>, then what was held while it was built, minus events the list already covers.
    /// After this, events flow straight to the queue.
    /// </summary>
    public void BecomeReady(SharedFrame processList, IReadOnlyList<ProcessSnapshot> listed, bool startOver = false)
    {
        lock (_holdGate)
        {
            if (startOver)
            {
                _liveAfter = default; // a list after the history was replaced: what it knew before means nothing
            }
            _liveAfter.Reserve(listed.Count);
            foreach (var process in listed)
            {
                _liveAfter.Set(process.ProcessId, process.Seq);
            }
            Connection.Send(processList);
            foreach (var (frame, processId, seq) in _held!)
            {
                bool covered = _liveAfter.TryGetValue(processId, out long listedSeq) && seq <= listedSeq;
                if (!covered && Interest.Includes(processId))
                {
                    Connection.Send(frame);
                }
                frame.Release();
            }
            Volatile.Write(ref _held, null);
        }
    }

    /// <summary>
    /// Sends a fresh <c>process_list</c> to a connection that is already live, after the hub's history was replaced
    /// (a new epoch): what it knew of every process starts over from this list. False when the session is not ready
    /// yet (its own first list is still being built; the caller checks the epoch after it).
    /// </summary>
    public bool Relist(SharedFrame processList, IReadOnlyList<ProcessSnapshot> listed)
    {
        lock (_holdGate)
        {
            if (_held is not null)
            {
                return false;
            }
            _liveAfter = default;
            _liveAfter.Reserve(listed.Count);
            foreach (var process in listed)
            {
                _liveAfter.Set(process.ProcessId, process.Seq);
            }
            Connection.Send(processList);
            return true;
        }
    }

    /// <summary>
    /// Holds events again, as before the first list, while a fresh one is built off the applier's thread; the
    /// <see cref="BecomeReady"/> that follows sends the list, then what was held that it does not cover.
    /// </summary>
    public void HoldEvents()
    {
        lock (_holdGate)
        {
            Volatile.Write(ref _held, _held ?? []);
        }
    }

    /// <summary>The seq after which this connection gets a process's events live; 0 when it got them all.</summary>
    public long LiveAfter(string processId)
    {
        lock (_holdGate)
        {
            return _liveAfter.TryGetValue(processId, out long seq) ? seq : 0;
        }
    }

    public void SetLiveAfter(string processId, long seq)
    {
        lock (_holdGate)
        {
            _liveAfter.Set(processId, seq);
            if (_isGone is not null)
            {
                _liveAfter.PruneIfLarge(_isGone);
            }
        }
    }

    /// <summary>Entries in the live-after table (for tests: what a long-lived connection holds).</summary>
    internal int LiveAfterCount
    {
        get
        {
            lock (_holdGate)
            {
                return _liveAfter.Count;
            }
        }
    }

    /// <summary>Drops held frames when the connection ends before it became ready.</summary>
    public void ReleaseHeld()
    {
        lock (_holdGate)
        {
            if (_held is null)
            {
                return;
            }
            foreach (var (frame, _, _) in _held)
            {
                frame.Release();
            }
            _held.Clear();
        }
    }

    private bool TryHold(SharedFrame frame, string processId, long seq)
    {
        lock (_holdGate)
        {
            if (_held is null)
            {
                return false; // became ready meanwhile: deliver normally
            }
            frame.AddReference();
            _held.Add((frame, processId, seq));
            return true;
        }
    }
}
