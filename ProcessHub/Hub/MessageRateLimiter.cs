using System.Diagnostics;

namespace ProcessHub.Hub;

/// <summary>
/// A token bucket per connection (PROTOCOL.md section 4): <c>rate</c> messages a second sustained, bursts up to
/// <c>rate</c>. Past it a message is refused with <c>rate_limited</c>; a client that keeps going for another full
/// bucket's worth is closed with 1008.
/// </summary>
internal sealed class MessageRateLimiter
{
    private readonly double _rate;
    private double _tokens;
    private long _lastRefill = Stopwatch.GetTimestamp();
    private int _refusedInARow;

    public MessageRateLimiter(int rate)
    {
        _rate = rate;
        _tokens = rate;
    }

    /// <summary>Called on the connection's receive loop only, so no locking.</summary>
    public RateDecision Take()
    {
        long now = Stopwatch.GetTimestamp();
        _tokens = Math.Min(_rate, _tokens + (Stopwatch.GetElapsedTime(_lastRefill, now).TotalSeconds * _rate));
        _lastRefill = now;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            _refusedInARow = 0;
            return RateDecision.Allowed;
        }
        _refusedInARow++;
        return _refusedInARow > _rate ? RateDecision.Close : RateDecision.Refused;
    }
}
