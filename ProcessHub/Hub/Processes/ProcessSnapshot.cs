namespace ProcessHub.Hub.Processes;

/// <summary>
/// A process as <c>process_list</c>, <c>subscribed</c> and the HTTP API show it: who it is and its published state,
/// taken without a lock (the state is immutable). What the layers above the registry work on.
/// </summary>
internal readonly record struct ProcessSnapshot(
    string ProcessId,
    string ProcessType,
    string Owner,
    byte[]? ParamsJson,
    DateTimeOffset StartedAt,
    ProcessState State)
{
    public ProcessSnapshot(ProcessRecord process, ProcessState state)
        : this(process.Id, process.Type, process.Owner, process.ParamsJson, process.StartedAt, state)
    {
    }

    public ProcessStatus Status => State.Status;
    public long Seq => State.Seq;
    public byte[] ProgressJson => State.ProgressJson;
    public DateTimeOffset? EndedAt => State.EndedAt;
    public byte[]? ResultJson => State.ResultJson;
    public byte[]? ErrorJson => State.ErrorJson;
    public string? CancelledBy => State.CancelledBy;
    public bool IsEnded => State.IsEnded;

    /// <summary>Whether <paramref name="identity"/> may see this process: its owner, or an admin.</summary>
    public bool IsVisibleTo(Auth.UserIdentity identity) => identity.IsAdmin || identity.Subject == Owner;
}
