namespace ProcessHub.WebSockets;

/// <summary>
/// What one <see cref="WebSocketConnection"/> reports to the layer above it. Called on the connection's receive loop,
/// one call at a time; an implementation must not block.
/// </summary>
internal interface IWebSocketEvents
{
    /// <summary>The upgrade completed; <paramref name="request"/> is what the upgrade carried (dropped after this call).</summary>
    void OnOpen(UpgradeRequest request);

    /// <summary>A complete, UTF-8-valid text message. The span is valid only during the call.</summary>
    void OnTextMessage(ReadOnlySpan<byte> utf8);

    /// <summary>
    /// The connection is over: the close handshake has completed (TCP may linger a moment while the peer closes its
    /// side), or TCP is gone. Called once; <see cref="WebSocketConnection.CloseStatus"/> tells how it ended.
    /// </summary>
    void OnClosed();

    /// <summary>A ping control frame arrived; true to answer it with a pong, false to leave it unanswered.</summary>
    bool OnPing();
}
