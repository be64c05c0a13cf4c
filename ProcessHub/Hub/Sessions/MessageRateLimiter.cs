namespace ProcessHub.Hub.Sessions;

/// <summary>
/// A token bucket (docs/protocol.md section 4.8): <c>rate</c> messages a second sustained, bursts up to <c>rate</c>.
/// Past it a message is refused with <c>rate_limited</c>. Refusals spend an allowance of <c>rate</c> that comes back
/// at a tenth of the rate a second; a client that spends it all is closed with 1008.
/// </summary>
/// <remarks>
/// <para>
/// The allowance is what makes "then close 1008 if it goes on" true for a steady overrun. Counting refusals in a row
/// (reset by any accepted message) closed only a burst that never paused: a client sending 30 times the rate got
/// an accepted message every 10 ms and thousands of errors, and stayed. With the allowance, a client steadily more
/// than 1.1 times the rate is closed within seconds, one a little over gets an error now and then and stays, and a
/// burst is closed at the same message as before (the allowance is full until the bucket is empty).
/// </para>
/// <para>
/// A mutable struct kept in a field of its owner (one per connection in <see cref="HubSession"/>), so it costs no
/// object of its own; call it in place, never copy it. <c>default</c> is a full bucket, and the rate, the same for
/// every bucket of a kind, is passed in rather than stored: idle memory per connection is a headline figure.
/// Not thread-safe: the owner serializes calls.
/// </para>
/// </remarks>
internal struct MessageRateLimiter
{
    /// <summary>The share of the rate at which spent allowance comes back: refusals a client may have for good.</summary>
    private const double AllowanceRefillShare = 0.1;

    private double _tokens;
    private double _allowance;
    private long _lastRefill; // 0 until the first message: the bucket and the allowance start full, whenever that is

    /// <param name="rate">Messages a second and the bucket's size; pass the same value on every call.</param>
    /// <param name="time">The clock to refill by (a fake one in tests).</param>
    public RateDecision Take(int rate, TimeProvider time)
    {
        long now = time.GetTimestamp();
        if (_lastRefill == 0)
        {
            _tokens = rate;
            _allowance = rate;
        }
        else
        {
            double seconds = time.GetElapsedTime(_lastRefill, now).TotalSeconds;
            _tokens = Math.Min(rate, _tokens + (seconds * rate));
            _allowance = Math.Min(rate, _allowance + (seconds * rate * AllowanceRefillShare));
        }
        _lastRefill = now;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            return RateDecision.Allowed;
        }
        if (_allowance < 1)
        {
            return RateDecision.Close;
        }
        _allowance -= 1;
        return RateDecision.Refused;
    }
}
