using ProcessHub.Hub.Sessions;

namespace ProcessHub.Api;

/// <summary>
/// One user's <c>/api/*</c> request budget: a <see cref="MessageRateLimiter"/> in a box, so the per-user map can
/// hold it and callers can lock it (a user's requests arrive on many connections at once).
/// </summary>
internal sealed class RequestBudget
{
    private MessageRateLimiter _limiter;
    private long _lastUsed;

    /// <summary>Callers serialize: lock the budget around the call.</summary>
    public RateDecision Take(int requestsPerSecond, TimeProvider time)
    {
        Volatile.Write(ref _lastUsed, time.GetTimestamp());
        return _limiter.Take(requestsPerSecond, time);
    }

    /// <summary>
    /// Unused for a second or more: the bucket (a second's worth) is full again, exactly as a new one would be, so the
    /// budget can be dropped and made afresh on the user's next request.
    /// </summary>
    public bool IsIdle(TimeProvider time) => time.GetElapsedTime(Volatile.Read(ref _lastUsed)) >= TimeSpan.FromSeconds(1);
}
