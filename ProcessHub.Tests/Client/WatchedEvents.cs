using NUnit.Framework;
using ProcessHub.Client;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Client;

/// <summary>
/// A <see cref="HubWatcher.WatchAsync"/> pulled by the test, one event at a time, each with a deadline. Pulling (rather
/// than a background pump) is what makes reconnect tests exact: while the test does not ask, the watcher does not read
/// or reconnect, so a test can publish into the gap after a drop and know the events were missed.
/// </summary>
internal sealed class WatchedEvents : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly IAsyncEnumerator<HubEvent> _events;

    public WatchedEvents(HubWatcher watcher) => _events = watcher.WatchAsync(_stop.Token).GetAsyncEnumerator();

    /// <summary>How long each pull waits for the next event.</summary>
    public TimeSpan Timeout { get; set; } = TestTimeouts.Receive;

    /// <summary>Everything pulled so far, in order.</summary>
    public List<HubEvent> Seen { get; } = [];

    public async Task<HubEvent> NextAsync()
    {
        bool more;
        try
        {
            more = await _events.MoveNextAsync().AsTask().WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new AssertionException($"no event within {Timeout.TotalSeconds} s; seen so far:\n{string.Join("\n", Seen)}");
        }
        if (!more)
        {
            throw new AssertionException($"the watch ended; seen:\n{string.Join("\n", Seen)}");
        }
        Seen.Add(_events.Current);
        return _events.Current;
    }

    /// <summary>The next event of type <typeparamref name="T"/> (matching <paramref name="match"/>), skipping others (they stay in <see cref="Seen"/>).</summary>
    public async Task<T> NextAsync<T>(Func<T, bool>? match = null) where T : HubEvent
    {
        while (true)
        {
            if (await NextAsync() is T found && (match is null || match(found)))
            {
                return found;
            }
        }
    }

    /// <summary>Whether the watch ends (false) or yields another event (true, and it is kept in <see cref="Seen"/>).</summary>
    public async Task<bool> MoveNextAsync()
    {
        bool more = await _events.MoveNextAsync().AsTask().WaitAsync(Timeout);
        if (more)
        {
            Seen.Add(_events.Current);
        }
        return more;
    }

    /// <summary>The process events of one process among everything seen.</summary>
    public List<ProcessEvent> EventsOf(string processId) => Seen.OfType<ProcessEvent>().Where(e => e.ProcessId == processId).ToList();

    /// <summary>Stops the watch (the watcher closes with 1000) and ends the enumeration.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _events.DisposeAsync();
        }
        catch (NotSupportedException)
        {
            // A MoveNextAsync that timed out is still pending; the cancelled token ends it and the socket with it.
        }
        _stop.Dispose();
    }
}
