using System.Collections.Concurrent;
using System.Security.Cryptography;
using ProcessHub.Auth;
using ProcessHub.Outbound;

namespace ProcessHub.Hub;

/// <summary>
/// Every process the hub knows: running ones, and ended ones for the retention window. Each state change takes
/// the process's lock, bumps its seq by one, serializes the event once, keeps it in history and fans it out.
/// </summary>
internal sealed class ProcessRegistry
{
    private readonly ConcurrentDictionary<string, ProcessRecord> _processes = new(StringComparer.Ordinal);
    private readonly Broadcaster _broadcaster;
    private readonly HubOptions _options;
    private readonly TimeProvider _time;

    public ProcessRegistry(Broadcaster broadcaster, HubOptions options, TimeProvider time)
    {
        _broadcaster = broadcaster;
        _options = options;
        _time = time;
        // PROTOCOL.md section 3: a new epoch at every start, since history does not survive a restart.
        Epoch = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    }

    public string Epoch { get; }

    public int Count => _processes.Count;

    public ProcessRecord? Find(string processId) => _processes.GetValueOrDefault(processId);

    public ProcessRecord Start(string processType, string owner, byte[]? paramsJson, byte[] initialProgressJson)
    {
        var process = new ProcessRecord(NewId(), processType, owner, paramsJson, initialProgressJson, _time.GetUtcNow(), _options.HistoryLimit);
        lock (process.Gate)
        {
            _processes[process.Id] = process;
            Publish(process, HubEventKind.Started);
        }
        return process;
    }

    public ReportResult ReportProgress(ProcessRecord process, byte[] progressJson)
    {
        lock (process.Gate)
        {
            if (process.IsEnded)
            {
                return ReportResult.AlreadyEnded;
            }
            process.ProgressJson = progressJson;
            Publish(process, HubEventKind.Progress);
            return ReportResult.Accepted;
        }
    }

    public ReportResult Complete(ProcessRecord process, byte[]? resultJson) =>
        End(process, ProcessStatus.Completed, HubEventKind.Completed, resultJson, errorJson: null, cancelledBy: null);

    public ReportResult Fail(ProcessRecord process, byte[] errorJson) =>
        End(process, ProcessStatus.Failed, HubEventKind.Failed, resultJson: null, errorJson, cancelledBy: null);

    /// <summary>Ends the process as cancelled and fires its producer's token.</summary>
    public ReportResult Cancel(ProcessRecord process, string cancelledBy) =>
        End(process, ProcessStatus.Cancelled, HubEventKind.Cancelled, resultJson: null, errorJson: null, cancelledBy);

    /// <summary>Processes this user may see (own, or all for an admin), captured consistently one by one.</summary>
    public List<ProcessSnapshot> SnapshotVisible(UserIdentity identity)
    {
        var visible = new List<ProcessSnapshot>();
        foreach (var process in _processes.Values)
        {
            if (!identity.IsAdmin && process.Owner != identity.Subject)
            {
                continue;
            }
            lock (process.Gate)
            {
                visible.Add(ProcessSnapshot.Of(process));
            }
        }
        visible.Sort((a, b) => a.StartedAt.CompareTo(b.StartedAt));
        return visible;
    }

    /// <summary>Removes processes that ended longer ago than the retention window; returns how many.</summary>
    public int EvictExpired()
    {
        var cutoff = _time.GetUtcNow() - _options.Retention;
        int evicted = 0;
        foreach (var process in _processes.Values)
        {
            lock (process.Gate)
            {
                if (process.EndedAt is { } ended && ended <= cutoff && _processes.TryRemove(process.Id, out _))
                {
                    process.ReleaseHistory();
                    evicted++;
                }
            }
        }
        return evicted;
    }

    /// <summary>
    /// Replays the retained events after <paramref name="afterSeq"/> to <paramref name="watcher"/>, then (unless the
    /// process has ended) keeps it following live ones: under the lock, so nothing falls between the two.
    /// Returns false when events after <paramref name="afterSeq"/> have already fallen out of history;
    /// <paramref name="following"/> is false when the process had ended, so the replay was everything.
    /// </summary>
    public bool Watch(ProcessRecord process, IProcessWatcher watcher, long afterSeq, out bool following)
    {
        lock (process.Gate)
        {
            long first = Math.Max(afterSeq + 1, process.OldestRetainedSeq);
            for (long seq = first; seq <= process.Seq; seq++)
            {
                if (process.HistoryAt(seq) is { } frame)
                {
                    watcher.OnEvent(frame, seq, process.HistoryKindAt(seq));
                }
            }
            following = !process.IsEnded;
            if (following)
            {
                process.AddWatcher(watcher);
            }
            return afterSeq + 1 >= process.OldestRetainedSeq || afterSeq >= process.Seq;
        }
    }

    public void Unwatch(ProcessRecord process, IProcessWatcher watcher)
    {
        lock (process.Gate)
        {
            process.RemoveWatcher(watcher);
        }
    }

    private ReportResult End(ProcessRecord process, ProcessStatus status, HubEventKind kind, byte[]? resultJson, byte[]? errorJson, string? cancelledBy)
    {
        lock (process.Gate)
        {
            if (process.IsEnded)
            {
                return ReportResult.AlreadyEnded;
            }
            process.Status = status;
            process.EndedAt = _time.GetUtcNow();
            process.ResultJson = resultJson;
            process.ErrorJson = errorJson;
            process.CancelledBy = cancelledBy;
            if (status == ProcessStatus.Cancelled)
            {
                // The token is cancelled before anyone can see process_cancelled: whoever sees the event may rely on
                // the producer having been told. CancelAsync flips the token now and runs the producer's callbacks
                // later on the thread pool, never under this lock (a callback may call back into the registry).
                ObserveCallbackFailures(process.Cancellation.CancelAsync());
            }
            Publish(process, kind, cancelledBy);
            return ReportResult.Accepted;
        }
    }

    // A producer's cancellation callback that throws must not surface as an unobserved task exception; the process
    // is cancelled regardless.
    private static void ObserveCallbackFailures(Task callbacks)
    {
        if (!callbacks.IsCompletedSuccessfully)
        {
            callbacks.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void Publish(ProcessRecord process, HubEventKind kind, string? cancelledBy = null)
    {
        process.Seq++;
        SharedFrame frame = HubMessageWriter.ProcessEvent(process, kind, _time.GetUtcNow(), cancelledBy);
        try
        {
            process.AppendHistory(frame, kind);
            _broadcaster.Publish(process, frame);
            foreach (var watcher in process.Watchers)
            {
                watcher.OnEvent(frame, process.Seq, kind);
            }
        }
        finally
        {
            frame.Release();
        }
    }

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}
