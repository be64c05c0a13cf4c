namespace ProcessHub.Hub.Processes;

/// <summary>A retained event: its seq, its kind and its payload exactly as clients received it.</summary>
internal sealed record StoredEvent(long Seq, HubEventKind Kind, ReadOnlyMemory<byte> Payload);
