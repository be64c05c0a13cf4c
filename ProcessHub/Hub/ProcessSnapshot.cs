namespace ProcessHub.Hub;

/// <summary>A process as <c>process_list</c> and <c>subscribed</c> show it, captured under the process's lock.</summary>
internal readonly record struct ProcessSnapshot(
    string ProcessId,
    string ProcessType,
    ProcessStatus Status,
    string Owner,
    byte[] ProgressJson,
    long Seq,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    byte[]? ErrorJson,
    byte[]? ResultJson,
    byte[]? ParamsJson,
    string? CancelledBy)
{
    public static ProcessSnapshot Of(ProcessRecord process) => new(
        process.Id, process.Type, process.Status, process.Owner, process.ProgressJson, process.Seq,
        process.StartedAt, process.EndedAt, process.ErrorJson, process.ResultJson, process.ParamsJson, process.CancelledBy);
}
