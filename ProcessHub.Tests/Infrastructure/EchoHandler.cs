using System.Threading.Channels;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// The test-only application on the engine: every text message goes straight back. With it the conformance and
/// interop suites test the engine alone (framing, UTF-8, limits, close handshake), not the hub on top of it.
/// </summary>
internal sealed class EchoHandler : IWebSocketHandler
{
    private readonly Channel<ClosedConnection> _closed = Channel.CreateUnbounded<ClosedConnection>();

    /// <summary>How each connection ended, as the engine saw it; lets a test check the server side of a close.</summary>
    public ChannelReader<ClosedConnection> Closed => _closed.Reader;

    public void OnOpen(WebSocketConnection connection, UpgradeRequest request)
    {
    }

    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> utf8) => connection.SendText(utf8);

    public void OnClosed(WebSocketConnection connection) =>
        _closed.Writer.TryWrite(new ClosedConnection(connection.Id, connection.CloseStatus));
}
