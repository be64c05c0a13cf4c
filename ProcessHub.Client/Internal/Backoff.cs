namespace ProcessHub.Client.Internal;

/// <summary>
/// Reconnect delays: exponential from a minimum to a maximum, each shortened by a random share of up to
/// <c>jitter</c> so that many clients dropped at once (a hub restart, 1001) do not come back in lockstep.
/// </summary>
internal sealed class Backoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly double _jitter;
    private readonly Func<double> _random;

    public Backoff(TimeSpan min, TimeSpan max, double jitter, Func<double>? random = null)
    {
        _min = min;
        _max = max < min ? min : max;
        _jitter = Math.Clamp(jitter, 0, 1);
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>The delay before attempt number <paramref name="failures"/> + 1 after that many failures in a row (from 0).</summary>
    public TimeSpan Delay(int failures)
    {
        double ceiling = _min.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 30));
        double capped = Math.Min(ceiling, _max.TotalMilliseconds);
        double jittered = capped * (1 - (_jitter * _random()));
        return TimeSpan.FromMilliseconds(Math.Max(jittered, 0));
    }
}
