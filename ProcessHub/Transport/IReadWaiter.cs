namespace ProcessHub.Transport;

/// <summary>
/// A consumer that is called back when its parked read can go on (<see cref="SocketPipeReader.TryReadOrWait"/>),
/// instead of awaiting it: an idle WebSocket then keeps no async state machine at all, only its own objects.
/// </summary>
internal interface IReadWaiter
{
    /// <summary>On a thread-pool thread: read again (data, end of stream, an error or a canceled read is waiting).</summary>
    void OnReadReady();
}
