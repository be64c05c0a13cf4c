using System.Collections.Concurrent;

namespace ProcessHub.Outbound;

/// <summary>
/// Walks the queues that have frames and drains each in place: a send that the kernel takes at once costs no
/// wake-up at all, and only a send that would block continues asynchronously on its own. A burst to thousands of
/// connections is one thread-pool hop, not thousands.
/// </summary>
internal sealed class Flusher : IThreadPoolWorkItem
{
    private readonly ConcurrentQueue<OutboundConnection> _pending = new();
    private int _scheduled;

    public void Add(OutboundConnection connection)
    {
        _pending.Enqueue(connection);
        if (Interlocked.Exchange(ref _scheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    public void Execute()
    {
        while (true)
        {
            while (_pending.TryDequeue(out var queue))
            {
                queue.DrainNow();
            }
            // A full fence, not just a release: the emptiness check below must not be read before this store,
            // or a queue added in between (which saw 1 and did not schedule) would wait for the next burst.
            Interlocked.Exchange(ref _scheduled, 0);
            // A queue added after the last dequeue saw _scheduled == 1 and did not schedule: take it now.
            if (_pending.IsEmpty || Interlocked.Exchange(ref _scheduled, 1) != 0)
            {
                return;
            }
        }
    }
}
