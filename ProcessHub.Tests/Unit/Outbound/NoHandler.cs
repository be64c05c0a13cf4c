using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.Outbound;

/// <summary>A connection handler that does nothing: for tests of the outbound queue alone.</summary>
internal sealed class NoHandler : IConnectionHandler
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
