namespace ProcessHub.Transport;

/// <summary>
/// Lets one line of a kind through per interval and counts the ones it holds back. A store that cannot write (a full
/// disk) refuses every request, and workers retry every second: a warning per refusal filled the log, often on the
/// very disk that was full; a listener at the open-file limit hits it at every connection that closes. Lock-free:
/// requests on every connection pass here.
/// </summary>
internal sealed class LogThrottle(TimeSpan interval)
{
    private long _nextAtTicks = long.MinValue;
    private long _heldBack;

    /// <summary>True when a line may be written now; <paramref name="heldBack"/> is how many were held back since the last one.</summary>
    public bool TryPass(DateTimeOffset now, out long heldBack)
    {
        long next = Volatile.Read(ref _nextAtTicks);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextAtTicks, now.UtcTicks + interval.Ticks, next) != next)
        {
            Interlocked.Increment(ref _heldBack);
            heldBack = 0;
            return false;
        }
        heldBack = Interlocked.Exchange(ref _heldBack, 0);
        return true;
    }
}
