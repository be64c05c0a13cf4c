namespace ProcessHub.Outbound;

/// <summary>Each queue drains in a thread-pool work item of its own (the connection is the work item: no allocation).</summary>
internal sealed class ThreadPoolFlushScheduler : FlushScheduler
{
    internal override void Schedule(OutboundConnection connection) => ThreadPool.UnsafeQueueUserWorkItem(connection, preferLocal: false);
}
