namespace ProcessHub.Storage;

/// <summary>What the store's writer and checkpointer did, for /metrics and the benchmarks. Thread-safe counters.</summary>
public sealed class StoreStatistics
{
    private long _commits;
    private long _eventsWritten;
    private long _commitTicks;
    private long _checkpoints;
    private long _checkpointFailures;
    private long _checkpointTicksMax;
    private long _checkpointTicksTotal;
    private long _logFrames;
    private long _logRestarts;
    private long _logRestartTicks;

    public long Commits => Interlocked.Read(ref _commits);
    public long EventsWritten => Interlocked.Read(ref _eventsWritten);

    /// <summary>Time spent writing and committing batches.</summary>
    public TimeSpan CommitTime => TimeSpan.FromTicks(Interlocked.Read(ref _commitTicks));

    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Checkpoints that failed (a full disk, an I/O error): each is tried again at the next interval.</summary>
    public long CheckpointFailures => Interlocked.Read(ref _checkpointFailures);

    /// <summary>The longest checkpoint so far (they run off the write path: this is what the write path avoids).</summary>
    public TimeSpan LongestCheckpoint => TimeSpan.FromTicks(Interlocked.Read(ref _checkpointTicksMax));

    public TimeSpan CheckpointTime => TimeSpan.FromTicks(Interlocked.Read(ref _checkpointTicksTotal));

    /// <summary>Frames in the write-ahead log at the last checkpoint: what the log holds, bounded by the restarts below.</summary>
    public long LogFrames => Interlocked.Read(ref _logFrames);

    /// <summary>Times the writer folded in the rest of a long log between two commits, so that the log started over.</summary>
    public long LogRestarts => Interlocked.Read(ref _logRestarts);

    /// <summary>The writer's time in those folds: the one checkpoint work that is on the write path.</summary>
    public TimeSpan LogRestartTime => TimeSpan.FromTicks(Interlocked.Read(ref _logRestartTicks));

    internal void CountCommit(int events, TimeSpan took)
    {
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _eventsWritten, events);
        Interlocked.Add(ref _commitTicks, took.Ticks);
    }

    internal void CountLogRestart(TimeSpan took)
    {
        Interlocked.Increment(ref _logRestarts);
        Interlocked.Add(ref _logRestartTicks, took.Ticks);
    }

    internal void CountCheckpointFailure() => Interlocked.Increment(ref _checkpointFailures);

    internal void CountCheckpoint(TimeSpan took, long logFrames)
    {
        Interlocked.Exchange(ref _logFrames, logFrames);
        Interlocked.Increment(ref _checkpoints);
        Interlocked.Add(ref _checkpointTicksTotal, took.Ticks);
        long ticks = took.Ticks;
        long max;
        while (ticks > (max = Interlocked.Read(ref _checkpointTicksMax)) && Interlocked.CompareExchange(ref _checkpointTicksMax, ticks, max) != max)
        {
        }
    }
}
