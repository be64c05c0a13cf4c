namespace ProcessHub.Api;

/// <summary>
/// Ends what a token opened (an SSE stream) when the token expires. A timer cannot be set more than about 49 days
/// ahead, and service tokens often live longer: it is set at most a day ahead and set again until the time comes.
/// </summary>
internal sealed class TokenExpiry : IDisposable
{
    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(1);
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _endsAt;
    private readonly CancellationTokenSource _ended;
    private readonly ITimer _timer;

    public TokenExpiry(TimeProvider time, DateTimeOffset endsAt, CancellationTokenSource ended)
    {
        _time = time;
        _endsAt = endsAt;
        _ended = ended;
        _timer = time.CreateTimer(static state => ((TokenExpiry)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Arm();
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>Whether the token's end came (and cancelled the stream).</summary>
    public bool Expired { get; private set; }

    private void Arm()
    {
        var left = _endsAt - _time.GetUtcNow();
        _timer.Change(left <= TimeSpan.Zero ? TimeSpan.Zero : left < LongestWait ? left : LongestWait, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        try
        {
            if (_time.GetUtcNow() < _endsAt)
            {
                Arm();
                return;
            }
            Expired = true;
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The stream ended and let go of its timer and source as the timer fired: nothing is left to stop.
        }
    }
}
