using System.Net.Http.Headers;

namespace ProcessHub.Client.Internal;

/// <summary>How long to wait before retrying a 429 or 503 (RFC 9110 section 10.2.3, <c>Retry-After</c>).</summary>
internal static class RetryDelay
{
    /// <summary>
    /// <c>Retry-After</c> as seconds or as an HTTP date, at most <paramref name="max"/>; without one, 0.5 s doubled
    /// per retry already made.
    /// </summary>
    public static TimeSpan For(RetryConditionHeaderValue? retryAfter, int retriesSoFar, TimeSpan max, DateTimeOffset now)
    {
        TimeSpan delay;
        if (retryAfter?.Delta is { } delta)
        {
            delay = delta;
        }
        else if (retryAfter?.Date is { } date)
        {
            delay = date - now;
        }
        else
        {
            delay = TimeSpan.FromMilliseconds(500 * Math.Pow(2, Math.Min(retriesSoFar, 16)));
        }
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > max ? max : delay;
    }
}
