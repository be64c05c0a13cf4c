using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// Waits for what no message announces (a session removed after its socket closed, a gauge after a close elsewhere).
/// It checks a condition, not the clock: it returns as soon as the condition holds and fails only past a generous
/// real-time ceiling, with what it waited for, so it is not a sleep standing in for synchronisation.
/// </summary>
/// <remarks>
/// The fake-clock variants are for servers that run on a <see cref="FakeTimeProvider"/>: they move the clock in small
/// steps while they wait, so a server timer fires whenever it was created. (A timer created after one big
/// <see cref="FakeTimeProvider.Advance"/> would never fire; small steps in a loop reach it on a later step.)
/// </remarks>
internal static class Eventually
{
    /// <summary>How far a fake clock moves per step unless told otherwise: well under any timeout a test sets.</summary>
    public static readonly TimeSpan DefaultStep = TimeSpan.FromMilliseconds(100);

    // Real time between checks: short, since each check is cheap and the suite waits on this a lot.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(5);

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TestTimeouts.Receive;
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds} s");
            }
            await Task.Delay(Poll);
        }
    }

    /// <summary>Re-observes until the value holds; returns it, or fails with what was last seen.</summary>
    public static async Task<T> HoldsAsync<T>(Func<Task<T>> observe, Func<T, bool> holds, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TestTimeouts.Receive;
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var seen = await observe();
            if (holds(seen))
            {
                return seen;
            }
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not hold within {limit.TotalSeconds} s; last seen: {seen}");
            }
            await Task.Delay(Poll);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, moving <paramref name="time"/> on by <paramref name="step"/> between checks.</summary>
    public static async Task HoldsAsync(FakeTimeProvider time, Func<bool> condition, string what, TimeSpan? step = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TestTimeouts.Receive;
        var start = time.GetUtcNow();
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds} s (the fake clock moved {(time.GetUtcNow() - start).TotalSeconds} s)");
            }
            time.Advance(step ?? DefaultStep);
            await Task.Delay(Poll);
        }
    }

    /// <summary>Awaits <paramref name="pending"/>, moving <paramref name="time"/> on by <paramref name="step"/> until it completes.</summary>
    public static async Task<T> CompletesAsync<T>(FakeTimeProvider time, Task<T> pending, string what, TimeSpan? step = null, TimeSpan? timeout = null)
    {
        await CompletesAsync(time, (Task)pending, what, step, timeout);
        return await pending;
    }

    /// <summary>Awaits <paramref name="pending"/>, moving <paramref name="time"/> on by <paramref name="step"/> until it completes.</summary>
    public static async Task CompletesAsync(FakeTimeProvider time, Task pending, string what, TimeSpan? step = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TestTimeouts.Receive;
        var start = time.GetUtcNow();
        var watch = Stopwatch.StartNew();
        while (!pending.IsCompleted)
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds} s (the fake clock moved {(time.GetUtcNow() - start).TotalSeconds} s)");
            }
            time.Advance(step ?? DefaultStep);
            await Task.WhenAny(pending, Task.Delay(Poll));
        }
        await pending;
    }
}
