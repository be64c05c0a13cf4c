namespace ProcessHub.Hub.Sessions;

/// <summary>
/// A token bucket (docs/protocol.md section 4): <c>rate</c> messages a second sustained, bursts up to <c>rate</c>. Past it
/// a message is refused with <c>rate_limited</c>; a client that keeps going for another full bucket's worth is closed
/// with 1008.
/// </summary>
/// <remarks>
/// A mutable struct kept in a field of its owner (one per connection in <see cref="HubSession"/>), so it costs no
/// object of its own; call it in place, never copy it. <c>default</c> is a full bucket, and the rate, the same for
/// every bucket of a kind, is passed in rather than stored: idle memory per connection is a headline figure.
/// Not thread-safe: the owner serializes calls.
/// </remarks>
internal struct MessageRateLimiter
{
    private double _tokens;
    private long _lastRefill; // 0 until the first message: the bucket starts full, whenever that is
    private int _refusedInARow;

    /// <param name="rate">Messages a second and the bucket's size; pass the same value on every call.</param>
    /// <param name="time">The clock to refill by (a fake one in tests).</param>
    public RateDecision Take(int rate, TimeProvider time)
    {
        long now = time.GetTimestamp();
        _tokens = _lastRefill == 0
            ? rate
            : Math.Min(rate, _tokens + (time.GetElapsedTime(_lastRefill, now).TotalSeconds * rate));
        _lastRefill = now;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            _refusedInARow = 0;
            return RateDecision.Allowed;
        }
        _refusedInARow++;
        return _refusedInARow > rate ? RateDecision.Close : RateDecision.Refused;
    }
}
