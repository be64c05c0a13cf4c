namespace ProcessHub.Outbound;

internal enum EnqueueResult : byte
{
    /// <summary>Queued, or merged into a queued progress frame of the same process.</summary>
    Queued,

    /// <summary>The connection is closing: nothing more is sent.</summary>
    Closed,

    /// <summary>Queued, but the queue is now over its byte limit: the owner should close it as a slow consumer.</summary>
    OverLimit,
}
