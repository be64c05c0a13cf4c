namespace ProcessHub.Hub.Processes;

/// <summary>
/// The answer to a start with an <c>Idempotency-Key</c>: the process it names, and whether that process was started
/// by an earlier request with the same key (nothing was started now, nothing published).
/// </summary>
internal readonly record struct IdempotentStart(string ProcessId, bool Replayed);
