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

    /// <summary>
    /// A process_list: never dropped, and not counted against the byte limit while it waits (docs/protocol.md section
    /// 5.5). It is bounded by its own rules, and a list that could close its connection would lock its user out: every
    /// reconnect would build the same list and be closed again. The stall limit still applies.
    /// </summary>
    List,
}
