using ProcessHub.Hub.Messages;

namespace ProcessHub.Hub.Processes;

/// <summary>One step of a running process after its start: progress, or one of its three ends.</summary>
internal readonly record struct ProcessChange(HubEventKind Kind, byte[]? Json, string? CancelledBy)
{
    public static ProcessChange Progress(byte[] progressJson) => new(HubEventKind.Progress, progressJson, null);

    public static ProcessChange Complete(byte[]? resultJson) => new(HubEventKind.Completed, resultJson, null);

    public static ProcessChange Fail(byte[] errorJson) => new(HubEventKind.Failed, errorJson, null);

    public static ProcessChange Cancel(string cancelledBy) => new(HubEventKind.Cancelled, null, cancelledBy);

    /// <summary>The state after this change, as of <paramref name="now"/>: one seq further.</summary>
    public ProcessState ApplyTo(ProcessState current, DateTimeOffset now) => Kind switch
    {
        HubEventKind.Progress => current with { Seq = current.Seq + 1, ProgressJson = Json!, LastChangedAt = now },
        HubEventKind.Completed => current with { Status = ProcessStatus.Completed, Seq = current.Seq + 1, LastChangedAt = now, EndedAt = now, ResultJson = Json },
        HubEventKind.Failed => current with { Status = ProcessStatus.Failed, Seq = current.Seq + 1, LastChangedAt = now, EndedAt = now, ErrorJson = Json },
        HubEventKind.Cancelled => current with { Status = ProcessStatus.Cancelled, Seq = current.Seq + 1, LastChangedAt = now, EndedAt = now, CancelledBy = CancelledBy },
        _ => throw new InvalidOperationException($"{Kind} is not a change of a running process"),
    };
}
