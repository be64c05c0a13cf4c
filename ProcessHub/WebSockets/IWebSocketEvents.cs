namespace ProcessHub.WebSockets;

/// <summary>
/// What one <see cref="WebSocketConnection"/> reports to the layer above it. Called on the connection's receive loop
/// (but <see cref="OnCloseHandshakeCompleted"/>, see there), one call at a time; an implementation must not block.
/// </summary>
internal interface IWebSocketEvents
{
    /// <summary>The upgrade completed; <paramref name="request"/> is what the upgrade carried (dropped after this call).</summary>
    void OnOpen(UpgradeRequest request);

    /// <summary>A complete, UTF-8-valid text message. The span is valid only during the call.</summary>
    void OnTextMessage(ReadOnlySpan<byte> utf8);

    /// <summary>
    /// Both close frames have been exchanged: the session is over, though TCP may linger up to
    /// <see cref="WebSocketConnection.CloseHandshakeTimeout"/> while the peer closes its side. Called at most once,
    /// before <see cref="OnClosed"/> is called, on the receive loop or on the writer (whichever completed the handshake),
    /// never during a message or ping; it may still be running when <see cref="OnClosed"/> is called on the receive
    /// loop. <see cref="WebSocketConnection.CloseStatus"/> is set.
    /// </summary>
    void OnCloseHandshakeCompleted();

    /// <summary>The connection is gone (TCP closed, everything released); <see cref="WebSocketConnection.CloseStatus"/> tells how it ended. Called once, last.</summary>
    void OnClosed();

    /// <summary>A ping control frame arrived; true to answer it with a pong, false to leave it unanswered.</summary>
    bool OnPing();

    /// <summary>A frame that is no message and asks for no answer arrived: a pong, or a small fragment of an unfinished message.</summary>
    void OnFrameWithoutMessage();
}
