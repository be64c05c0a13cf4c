using ProcessHub.Outbound;

namespace ProcessHub.Tests.Unit.Outbound;

/// <summary>A flush scheduler whose writer never gets its turn: what a connection queues stays queued.</summary>
internal sealed class NeverScheduler : FlushScheduler
{
    internal override void Schedule(OutboundConnection connection)
    {
    }
}
