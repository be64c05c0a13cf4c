using ProcessHub.Outbound;

namespace ProcessHub.Tests.Unit.Outbound;

/// <summary>A flush scheduler that drains a connection on the thread that queued to it, at once.</summary>
internal sealed class RunsAtOnceScheduler : FlushScheduler
{
    internal override void Schedule(OutboundConnection connection) => connection.DrainNow();
}
