using System.Text.Json;

namespace ProcessHub.Client;

/// <summary>One process as the hub lists it (an entry of <c>process_list</c>).</summary>
public sealed class ProcessInfo
{
    internal ProcessInfo(string processId, string processType, ProcessState status, string owner, ProgressInfo progress, long seq,
        DateTimeOffset startedAt, DateTimeOffset? endedAt, string? errorMessage, string? errorCode, JsonElement json)
    {
        ProcessId = processId;
        ProcessType = processType;
        Status = status;
        Owner = owner;
        Progress = progress;
        Seq = seq;
        StartedAt = startedAt;
        EndedAt = endedAt;
        ErrorMessage = errorMessage;
        ErrorCode = errorCode;
        Json = json;
    }

    /// <summary>The process's id.</summary>
    public string ProcessId { get; }

    /// <summary>What kind of work it is (<c>benchmark</c>, <c>eval</c>, ...).</summary>
    public string ProcessType { get; }

    /// <summary>Running, or how it ended.</summary>
    public ProcessState Status { get; }

    /// <summary>The user it belongs to (a JWT <c>sub</c>).</summary>
    public string Owner { get; }

    /// <summary>Its latest progress.</summary>
    public ProgressInfo Progress { get; }

    /// <summary>The <c>seq</c> of its latest event: the list is this process's state as of that event.</summary>
    public long Seq { get; }

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>When it ended; null while running.</summary>
    public DateTimeOffset? EndedAt { get; }

    /// <summary>The failure's message when it failed.</summary>
    public string? ErrorMessage { get; }

    /// <summary>The failure's code when it failed with one.</summary>
    public string? ErrorCode { get; }

    /// <summary>The list entry as the hub sent it.</summary>
    public JsonElement Json { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{ProcessType} {ProcessId} {Status} {Progress} seq {Seq}";
}
