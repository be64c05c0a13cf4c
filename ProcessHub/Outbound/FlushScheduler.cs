namespace ProcessHub.Outbound;

/// <summary>
/// Where a queue's drain runs once frames arrive in it. The choice is about wake-ups: a thread-pool work item per
/// connection costs one hop per burst per connection, which at thousands of subscribers can cost more than the
/// sends; a few shared flushers walk every connection that has frames and send without blocking, one hop per
/// burst per flusher. The default is <see cref="Shared"/>: over real sockets it joined about 1.5-2 times as many
/// frames per send (fewer syscalls, the dominant cost of loopback fan-out); in process, where a send is free, the
/// work item per connection was faster. Both are measured in docs/benchmarks.md.
/// </summary>
public abstract class FlushScheduler
{
    /// <summary>One thread-pool work item per connection with frames.</summary>
    public static FlushScheduler PerConnection { get; } = new ThreadPoolFlushScheduler();

    /// <summary>One flusher per core; each walks the connections assigned to it that have frames.</summary>
    public static FlushScheduler Shared { get; } = new SharedFlushScheduler(Environment.ProcessorCount);

    internal abstract void Schedule(OutboundConnection connection);
}
