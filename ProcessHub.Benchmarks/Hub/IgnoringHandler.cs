using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Benchmarks.Hub;

/// <summary>The fan-out benchmark never receives: the handler only satisfies the connection's constructor.</summary>
internal sealed class IgnoringHandler : IConnectionHandler
{
    public void OnOpen(IOutboundConnection connection, UpgradeRequest request)
    {
    }

    public void OnMessage(IOutboundConnection connection, ReadOnlySpan<byte> utf8)
    {
    }

    public void OnClosed(IOutboundConnection connection)
    {
    }
}
