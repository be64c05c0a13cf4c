namespace ProcessHub.Transport;

/// <summary>
/// Decides which failures of a task a timer repeats to say in the log: a full disk fails every checkpoint, and Redis
/// refusing writes fails every lease renewal, for as long as it lasts, and a warning each filled the log (often on the
/// disk that was full). Each reason of a failing streak is said once (up to eight), then a line every
/// <c>sayEvery</c> at most; its end is said only when a failure of it was. A success shortly after a streak does not
/// start the next one afresh: a task that fails and works by turns is said no more often than one that only fails.
/// Used by one thread at a time (the timer's loop, or the applier's turn).
/// </summary>
internal sealed class FailureStreak(TimeSpan sayEvery, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private const int MaxReasons = 8;
    private readonly HashSet<string> _reasonsSaid = new(StringComparer.Ordinal);
    private long _lastSaidAt;
    private long? _endedAt;
    private bool _failing;
    private bool _failureSaid;

    /// <summary>Failures since the last success.</summary>
    public long FailedInARow { get; private set; }

    /// <summary>Counts a failure; true when it is to be said.</summary>
    public bool Fail(string reason)
    {
        long now = _time.GetTimestamp();
        if (!_failing && (_endedAt is not { } ended || _time.GetElapsedTime(ended, now) >= sayEvery))
        {
            _reasonsSaid.Clear(); // a new streak: its reasons are news again
        }
        _failing = true;
        FailedInARow++;
        bool say = (_reasonsSaid.Count < MaxReasons && _reasonsSaid.Add(reason))
            || _time.GetElapsedTime(_lastSaidAt, now) >= sayEvery;
        if (say)
        {
            _lastSaidAt = now;
            _failureSaid = true;
        }
        return say;
    }

    /// <summary>
    /// Counts a success. True when it ends a streak a failure of which was said, so that its end is said too, with
    /// <paramref name="failedInARow"/> the failures it had.
    /// </summary>
    public bool Succeed(out long failedInARow)
    {
        failedInARow = FailedInARow;
        bool say = _failureSaid;
        if (_failing)
        {
            _failing = false;
            _endedAt = _time.GetTimestamp();
        }
        FailedInARow = 0;
        _failureSaid = false;
        return say;
    }
}
