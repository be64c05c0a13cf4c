using ProcessHub.WebSockets;

namespace ProcessHub.Benchmarks.Hub;

/// <summary>The fan-out benchmark never receives: the handler only satisfies the connection's constructor.</summary>
internal sealed class IgnoringHandler : IWebSocketHandler
{
    public void OnOpen(WebSocketConnection connection, UpgradeRequest request)
    {
    }

    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> utf8)
    {
    }

    public void OnClosed(WebSocketConnection connection)
    {
    }
}
