namespace ProcessHub.Outbound;

/// <summary>What a queued frame is, for the slow-consumer policy (docs/protocol.md section 5).</summary>
public enum FrameKind : byte
{
    /// <summary>Never dropped: replies, lists, process_started, terminal events.</summary>
    Essential,

    /// <summary>A process_progress event: a newer one of the same process may replace it while queued.</summary>
    Progress,

    /// <summary>Ping and pong frames.</summary>
    Control,

    /// <summary>Our close frame: the last thing a connection sends.</summary>
    Close,
}
