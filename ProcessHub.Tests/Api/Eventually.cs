namespace ProcessHub.Tests.Api;

/// <summary>
/// For the few facts the server gives no signal for (a gauge after a socket closed elsewhere): re-checks until it
/// holds or the deadline passes, and then fails with what was last seen.
/// </summary>
internal static class Eventually
{
    public static async Task<T> HoldsAsync<T>(Func<Task<T>> observe, Func<T, bool> holds, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var seen = await observe();
            if (holds(seen))
            {
                return seen;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not hold in time; last seen: {seen}");
            }
            await Task.Delay(25);
        }
    }
}
