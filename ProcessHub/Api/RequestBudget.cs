using ProcessHub.Hub.Sessions;

namespace ProcessHub.Api;

/// <summary>
/// One user's <c>/api/*</c> request budget: a <see cref="MessageRateLimiter"/> in a box, so the per-user map can
/// hold it and callers can lock it (a user's requests arrive on many connections at once).
/// </summary>
internal sealed class RequestBudget
{
    private MessageRateLimiter _limiter;

    /// <summary>Callers serialize: lock the budget around the call.</summary>
    public RateDecision Take(int requestsPerSecond, TimeProvider time) => _limiter.Take(requestsPerSecond, time);
}
