namespace ProcessHub.WebSockets;

internal enum FrameReadStatus : byte
{
    /// <summary>Everything usable was consumed; read more from the socket.</summary>
    NeedMoreData,

    /// <summary>The peer's close frame arrived: stop reading, anything after it is ignored (RFC 6455 5.5.1).</summary>
    CloseReceived,

    /// <summary>A protocol violation; the error says which.</summary>
    Error,
}
