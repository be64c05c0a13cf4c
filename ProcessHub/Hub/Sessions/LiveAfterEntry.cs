namespace ProcessHub.Hub.Sessions;

/// <summary>One slot of <see cref="LiveAfterTable"/>'s small form; a null <see cref="ProcessId"/> marks a free slot.</summary>
internal readonly record struct LiveAfterEntry(string? ProcessId, long Seq);
