using ProcessHub.WebSockets;

namespace ProcessHub.Outbound;

/// <summary>
/// What runs on the connections (the hub; an echo handler in tests). Called on each connection's receive loop (but
/// <see cref="OnClosed"/>, see there), one call at a time per connection; an implementation must not block in them.
/// </summary>
internal interface IConnectionHandler
{
    /// <summary>The upgrade completed. <paramref name="request"/> is what the upgrade request carried.</summary>
    void OnOpen(IOutboundConnection connection, UpgradeRequest request);

    /// <summary>A complete, UTF-8-valid text message. The span is valid only during the call.</summary>
    void OnMessage(IOutboundConnection connection, ReadOnlySpan<byte> utf8);

    /// <summary>
    /// The connection is over, once: at the close handshake (on the receive loop or on the writer that sent our close;
    /// the socket may linger up to a second), or when the socket is gone without one.
    /// <see cref="IOutboundConnection.CloseStatus"/> tells how it ended. No other call of this connection follows.
    /// </summary>
    void OnClosed(IOutboundConnection connection);

    /// <summary>
    /// A ping control frame arrived; true to answer it with a pong (RFC 6455 5.5.2). The hub counts pings against the
    /// connection's message budget (docs/protocol.md section 5.6) and may close the connection instead; by default
    /// every ping is answered.
    /// </summary>
    bool OnPing(IOutboundConnection connection) => true;

    /// <summary>
    /// A pong, or a small data frame of a message still unfinished, arrived: frames that are no message and get no answer.
    /// The hub counts them against the message budget like pings (docs/protocol.md section 5.6); by default nothing.
    /// </summary>
    void OnFrameWithoutMessage(IOutboundConnection connection)
    {
    }
}
