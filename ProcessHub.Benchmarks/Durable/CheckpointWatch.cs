using System.Net;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// Reads a hub's <c>/metrics</c> every few milliseconds while a scenario runs and works out how long each checkpoint
/// took and when it ran: the checkpointer runs once a second, so between two reads at most one finishes, the growth of
/// <c>processhub_store_checkpoint_seconds_total</c> is its duration, and it ran within [previous read - duration,
/// this read]. The memory store's hub is read the same way (it has no checkpoints), so both pay the same for being
/// watched.
/// </summary>
internal sealed class CheckpointWatch : IAsyncDisposable
{
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<double> _durations = [];
    private readonly List<(long From, long To)> _windows = [];
    private StoreMetrics _first;
    private StoreMetrics _last;

    public CheckpointWatch(IPEndPoint endPoint, TimeSpan? interval = null)
    {
        _interval = interval ?? TimeSpan.FromMilliseconds(100);
        _loop = Task.Factory.StartNew(() => Poll(endPoint), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Durations of the checkpoints that finished while watched, in seconds (an average where two fell in one interval).</summary>
    public IReadOnlyList<double> Durations => _durations;

    /// <summary>When each checkpoint may have run (CLOCK_MONOTONIC ns): from the read before it, less its duration, to the read that saw it.</summary>
    public IReadOnlyList<(long From, long To)> Windows => _windows;

    /// <summary>The counters' growth over the watch.</summary>
    public StoreMetrics Growth => new(
        _last.Commits - _first.Commits, _last.EventsWritten - _first.EventsWritten, _last.CommitSeconds - _first.CommitSeconds,
        _last.Checkpoints - _first.Checkpoints, _last.CheckpointSeconds - _first.CheckpointSeconds, _last.LongestCheckpointSeconds, _last.EventsPublished - _first.EventsPublished,
        _last.FramesSent - _first.FramesSent, _last.Sends - _first.Sends);

    private void Poll(IPEndPoint endPoint)
    {
        using var http = new RawHttpConnection(endPoint);
        _first = _last = StoreMetrics.Read(http);
        long lastRead = MonotonicClock.Now;
        while (!_stop.IsCancellationRequested)
        {
            _stop.Token.WaitHandle.WaitOne(_interval);
            var now = StoreMetrics.Read(http);
            long read = MonotonicClock.Now;
            double finished = now.Checkpoints - _last.Checkpoints;
            if (finished > 0)
            {
                double took = now.CheckpointSeconds - _last.CheckpointSeconds;
                for (int i = 0; i < finished; i++)
                {
                    _durations.Add(took / finished);
                }
                _windows.Add((lastRead - MonotonicClock.FromSeconds(took), read));
            }
            _last = now;
            lastRead = read;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>The watch's numbers as sample values: checkpoints, their median and longest, how many took over 20 ms, and the store's commits.</summary>
    public void AddTo(Dictionary<string, double> values, double seconds)
    {
        var growth = Growth;
        var sorted = _durations.Order().ToList();
        values["checkpoints"] = sorted.Count;
        values["checkpoint_p50_ms"] = sorted.Count > 0 ? sorted[sorted.Count / 2] * 1e3 : 0;
        values["checkpoint_max_ms"] = sorted.Count > 0 ? sorted[^1] * 1e3 : 0;
        values["checkpoints_over_20ms"] = sorted.Count(d => d > 0.020);
        values["commits_per_s"] = growth.Commits / seconds;
        values["events_per_commit"] = growth.Commits > 0 ? growth.EventsWritten / growth.Commits : 0;
        values["commit_busy_fraction"] = growth.CommitSeconds / seconds;
        values["frames_per_send"] = growth.Sends > 0 ? growth.FramesSent / growth.Sends : 0;
    }
}
