using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>A retained event: its seq, its kind and its payload exactly as clients received it.</summary>
/// <remarks>
/// A value, not an object: a restart reads up to a million of them, and each is only carried from the store to the
/// process's history (<see cref="ProcessRecord.AppendRestored"/>), which frames it if a replay ever asks for it.
/// </remarks>
internal readonly record struct StoredEvent(long Seq, HubEventKind Kind, ReadOnlyMemory<byte> Payload)
{
    /// <summary>How a retained event of this kind is queued to a slow consumer: progress coalesces, the rest does not.</summary>
    public static FrameKind FrameKindOf(HubEventKind kind) => kind == HubEventKind.Progress ? FrameKind.Progress : FrameKind.Essential;
}
