namespace ProcessHub.WebSockets;

/// <summary>
/// The seam between the engine and what runs on it (the hub; an echo handler in tests). The engine calls these
/// on the connection's receive loop, one at a time per connection; a handler must not block in them.
/// </summary>
internal interface IWebSocketHandler
{
    /// <summary>The upgrade completed. <paramref name="request"/> describes the upgrade request.</summary>
    void OnOpen(WebSocketConnection connection, UpgradeRequest request);

    /// <summary>A complete, UTF-8-valid text message. The span is valid only during the call.</summary>
    void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> utf8);

    /// <summary>The connection is gone; <see cref="WebSocketConnection.CloseStatus"/> tells how it ended.</summary>
    void OnClosed(WebSocketConnection connection);
}
