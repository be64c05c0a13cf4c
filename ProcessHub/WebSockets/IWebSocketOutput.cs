namespace ProcessHub.WebSockets;

/// <summary>
/// Where a <see cref="WebSocketConnection"/>'s own frames go: the outbound queue above it, which keeps them in order
/// with the application's messages. The protocol side sends only control frames and its close; it learns that the
/// close reached the socket through <see cref="WebSocketConnection.OnCloseFrameSent"/>.
/// </summary>
internal interface IWebSocketOutput
{
    /// <summary>Queues a ping or a pong (RFC 6455 5.5.2, 5.5.3).</summary>
    void SendControl(Opcode opcode, ReadOnlySpan<byte> payload);

    /// <summary>
    /// Queues our close frame as the last frame (RFC 6455 5.5.1). With <paramref name="dropPending"/> what still waits
    /// is discarded first, so the close is not stuck behind it. False when the output takes nothing more (the socket
    /// failed): the caller drops the connection.
    /// </summary>
    bool SendClose(ReadOnlySpan<byte> payload, bool dropPending);

    /// <summary>The connection has ended: release everything queued and take nothing more.</summary>
    void Release();
}
