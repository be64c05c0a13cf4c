using System.Diagnostics;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// Waits for server-side state that no message announces (a session removed after its socket closed). It checks a
/// condition, not the clock: it returns as soon as the condition holds and fails only past a generous ceiling, so
/// it is not a sleep standing in for synchronisation.
/// </summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? HubTestClient.DefaultTimeout;
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds} s");
            }
            await Task.Delay(10);
        }
    }
}
