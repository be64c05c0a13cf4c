namespace ProcessHub.Hub.Processes;

/// <summary>
/// The part of a process that each event changes, as of one <c>seq</c>. Immutable: an event replaces the whole state
/// under the process's lock, so a reader gets a consistent view with one reference read and no lock.
/// </summary>
internal sealed record ProcessState(
    ProcessStatus Status,
    long Seq,
    byte[] ProgressJson,
    DateTimeOffset LastChangedAt,
    DateTimeOffset? EndedAt = null,
    byte[]? ResultJson = null,
    byte[]? ErrorJson = null,
    string? CancelledBy = null)
{
    public bool IsEnded => Status != ProcessStatus.Running;
}
