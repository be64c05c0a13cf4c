using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>A retained event: its seq, its kind and its payload exactly as clients received it.</summary>
/// <param name="Frame">
/// The frame already built from the payload, holding one reference that the registry takes over when it restores the
/// event (null: the registry builds it from <paramref name="Payload"/>). A store that reads a million events at a
/// restart builds each frame straight from what it read, so every payload is copied once, not twice.
/// </param>
internal sealed record StoredEvent(long Seq, HubEventKind Kind, ReadOnlyMemory<byte> Payload, SharedFrame? Frame = null)
{
    /// <summary>The payload, wherever it is held.</summary>
    public ReadOnlySpan<byte> PayloadSpan => Frame is { } frame ? frame.Payload : Payload.Span;

    /// <summary>How a retained event of this kind is queued to a slow consumer: progress coalesces, the rest does not.</summary>
    public static FrameKind FrameKindOf(HubEventKind kind) => kind == HubEventKind.Progress ? FrameKind.Progress : FrameKind.Essential;
}
