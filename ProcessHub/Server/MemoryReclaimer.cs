using System.Runtime;

namespace ProcessHub.Server;

/// <summary>
/// Gives memory back after a storm of connections. Opening thousands of connections at once (a restart, every tab
/// reconnecting) leaves the GC heap grown far past what the connections keep: the handshakes and token checks of the
/// storm were garbage, and a concurrent GC does not hand freed regions back quickly. Once at least
/// <see cref="ServerOptions.ReclaimAfterConnections"/> WebSockets have opened since the last reclaim and none has
/// opened and no frame was sent for <see cref="QuietPeriod"/>, one blocking, compacting full GC in aggressive mode
/// returns what is free to the OS. It runs only when the server is quiet and at most once per storm, so the pause
/// (milliseconds for tens of thousands of connections) never lands on a busy moment or on steady traffic: a storm
/// followed at once by traffic (tabs that reconnect to running processes) is reclaimed when the traffic pauses, or
/// not at all while it never does. An admin can ask for the same
/// collection at any time (<c>POST /api/admin/reclaim</c>).
/// </summary>
internal sealed class MemoryReclaimer
{
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    private readonly Func<long> _webSocketsOpened;
    private readonly Func<long> _traffic;
    private long _trafficSeen;
    private readonly int _stormSize;
    private readonly TimeProvider _time;
    private long _openedAtLastReclaim;
    private long _lastSeen;
    private long _lastChangeTimestamp;

    /// <param name="webSocketsOpened">WebSockets opened so far.</param>
    /// <param name="traffic">A count that moves whenever the server sends (frames sent so far).</param>
    public MemoryReclaimer(Func<long> webSocketsOpened, Func<long> traffic, int stormSize, TimeProvider time)
    {
        _webSocketsOpened = webSocketsOpened;
        _traffic = traffic;
        _stormSize = stormSize;
        _time = time;
        _lastChangeTimestamp = time.GetTimestamp();
    }

    private int _reclaims;

    /// <summary>Full collections this reclaimer has run.</summary>
    public int Reclaims => Volatile.Read(ref _reclaims);

    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                Check();
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>One look at the counter; reclaims when a storm has settled.</summary>
    internal void Check()
    {
        long opened = _webSocketsOpened();
        long traffic = _traffic();
        if (opened != _lastSeen || traffic != _trafficSeen)
        {
            _lastSeen = opened;
            _trafficSeen = traffic;
            _lastChangeTimestamp = _time.GetTimestamp();
            return;
        }
        if (opened - _openedAtLastReclaim < _stormSize || _time.GetElapsedTime(_lastChangeTimestamp) < QuietPeriod)
        {
            return;
        }
        _openedAtLastReclaim = opened;
        Reclaim();
    }

    /// <summary>One blocking, compacting full collection that hands free memory back to the OS; returns the heap after it.</summary>
    public long Reclaim()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        // The timer and an admin's request may both get here.
        Interlocked.Increment(ref _reclaims);
        return GC.GetGCMemoryInfo(GCKind.FullBlocking).HeapSizeBytes;
    }
}
