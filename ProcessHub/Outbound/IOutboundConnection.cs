using System.Net;

namespace ProcessHub.Outbound;

/// <summary>
/// How the hub reaches a connection: queue a shared frame, close with a code, and read how backed up it is. The
/// only connection type above this layer; implemented by <see cref="OutboundConnection"/>. Sending never waits on
/// the socket, and the slow-consumer policy (<see cref="SlowConsumerPolicy"/>) is applied behind it.
/// </summary>
internal interface IOutboundConnection
{
    long Id { get; }

    EndPoint? RemoteEndPoint { get; }

    /// <summary>Per-connection state of the handler above (the hub keeps its session here).</summary>
    object? State { get; set; }

    /// <summary>True once our close is queued: nothing more will be sent.</summary>
    bool IsClosing { get; }

    /// <summary>The code that ended the connection, once it has ended: ours, the peer's, or 1006.</summary>
    ushort? CloseStatus { get; }

    /// <summary>Whether the peer started the close (its code is then one it chose, perhaps any of 3000-4999).</summary>
    bool ClosedByPeer { get; }

    /// <summary>How long frames have waited without the queue draining empty; zero when it is empty.</summary>
    TimeSpan BackedUpFor { get; }

    /// <summary>Bytes waiting in the queue, not counting a batch being sent.</summary>
    long QueuedBytes { get; }

    /// <summary>
    /// True when <paramref name="bytes"/> more, queued now, would leave the last quarter of the byte limit free: the
    /// room kept for the small replies of requests handled before anything queued has gone out.
    /// </summary>
    bool HasRoomToSpareFor(long bytes);

    /// <summary>
    /// Queues one reference to <paramref name="frame"/> (the caller keeps its own). False when the connection is
    /// closing, or when this frame took it over its byte limit and it is now being closed with 4429.
    /// </summary>
    bool Send(SharedFrame frame);

    /// <summary>Starts the close handshake with <paramref name="code"/>; queued frames still go out first.</summary>
    void Close(ushort code, string reason);
}
