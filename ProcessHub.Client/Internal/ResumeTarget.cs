namespace ProcessHub.Client.Internal;

/// <summary>
/// A running process the watcher knew before a drop, or one it did not know (started meanwhile; <see cref="Since"/> 0):
/// replay it from after <see cref="Since"/> up to <see cref="ListedSeq"/>.
/// </summary>
internal readonly record struct ResumeTarget(string ProcessId, long Since, long ListedSeq);
