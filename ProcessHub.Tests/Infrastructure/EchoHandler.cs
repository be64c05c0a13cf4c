using System.Threading.Channels;
using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// The test-only application on the connection server: every text message goes straight back. With it the
/// conformance and interop suites test the engine alone (framing, UTF-8, limits, close handshake), not the hub on
/// top of it.
/// </summary>
internal sealed class EchoHandler : IConnectionHandler
{
    private readonly Channel<ClosedConnection> _closed = Channel.CreateUnbounded<ClosedConnection>();

    /// <summary>How each connection ended, as the engine saw it; lets a test check the server side of a close.</summary>
    public ChannelReader<ClosedConnection> Closed => _closed.Reader;

    public void OnOpen(IOutboundConnection connection, UpgradeRequest request)
    {
    }

    /// <summary>A message that makes the server close the connection (1000) instead of echoing it.</summary>
    public static ReadOnlySpan<byte> CloseRequest => "please close"u8;

    public void OnMessage(IOutboundConnection connection, ReadOnlySpan<byte> utf8)
    {
        if (utf8.SequenceEqual(CloseRequest))
        {
            connection.Close(1000, "asked to");
            return;
        }
        var frame = SharedFrame.CreateText(utf8);
        connection.Send(frame);
        frame.Release();
    }

    public void OnClosed(IOutboundConnection connection) =>
        _closed.Writer.TryWrite(new ClosedConnection(connection.Id, connection.CloseStatus));
}
