namespace ProcessHub.Outbound;

/// <summary>
/// The slow-consumer policy, all of it (docs/protocol.md section 5): when a connection's queued progress coalesces,
/// when it is over its byte limit, when it has stalled, and that both end it with 4429 "slow consumer" with what was
/// queued dropped. One instance serves every connection of a server.
/// </summary>
public sealed class SlowConsumerPolicy
{
    /// <summary>
    /// Queued bytes past which a queue counts as backed up even while its socket still takes data: a few sends'
    /// worth. Coalescing is for consumers that fall behind, not for a burst a healthy one is about to take in one send.
    /// </summary>
    public const long CoalesceAfterBytes = 64 * 1024;

    public const string CloseReason = "slow consumer";

    /// <summary>
    /// The smallest byte limit the command line takes: past the largest single message the hub sends (a
    /// <c>subscribed</c> reply or an event carrying 16 KiB of params, a 64 KiB result, 4 KiB of progress and of error,
    /// about 92 KiB at most). A limit below it closed a client that read as fast as it could, at the first such event.
    /// </summary>
    public const int SmallestConfigurableByteLimit = 256 * 1024;

    public SlowConsumerPolicy(long byteLimit, TimeSpan stallLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(byteLimit);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(stallLimit, TimeSpan.Zero);
        ByteLimit = byteLimit;
        StallLimit = stallLimit;
    }

    /// <summary>The defaults of docs/protocol.md section 7: 1 MiB queued, 30 s without draining.</summary>
    public static SlowConsumerPolicy Default { get; } = new(1024 * 1024, TimeSpan.FromSeconds(30));

    /// <summary>Bytes a connection may have queued; one frame more closes it.</summary>
    public long ByteLimit { get; }

    /// <summary>How long a connection may go without its queue draining empty.</summary>
    public TimeSpan StallLimit { get; }

    /// <summary>Whether a progress frame replaces its process's queued one (the newest wins) instead of queueing behind it.</summary>
    internal static bool ShouldCoalesce(bool sendBlocked, long queuedBytes) => sendBlocked || queuedBytes >= CoalesceAfterBytes;

    internal bool IsOverByteLimit(long queuedBytes) => queuedBytes > ByteLimit;

    /// <summary>
    /// Whether <paramref name="queuedBytes"/> leave the last quarter of the byte limit free. A replay is queued only
    /// then (docs/protocol.md 5.2): a resuming client pipelines one <c>subscribe</c> per process (50 at once), all
    /// handled before the first reply goes out, and the replies of the ones refused still need room.
    /// </summary>
    internal bool LeavesReserve(long queuedBytes) => queuedBytes <= ByteLimit - ByteLimit / 4;

    /// <summary>
    /// The periodic check of one connection: a connection that has not drained for the stall limit is closed with
    /// 4429. One whose close frame itself cannot get out (the peer reads nothing at all) gets a second stall limit to
    /// take it, then the socket is dropped: otherwise the connection, its session and its last batch would be held
    /// until the peer went away.
    /// </summary>
    internal void Check(OutboundConnection connection)
    {
        var backedUpFor = connection.BackedUpFor;
        if (connection.IsClosing)
        {
            if (backedUpFor > StallLimit * 2)
            {
                connection.Abort();
            }
        }
        else if (backedUpFor > StallLimit)
        {
            connection.CloseAsSlowConsumer();
        }
    }
}
