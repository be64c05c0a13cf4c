using System.Text.Json;
using ProcessHub.Client.Internal;

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
        // The fields of docs/protocol.md 3.3 that only some entries carry, read as leniently as the rest.
        Parameters = JsonFields.Value(json, "params");
        Result = JsonFields.Value(json, "result");
        CancelledBy = JsonFields.String(json, "cancelled_by");
        Duration = JsonFields.Long(json, "duration_ms") is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        Omitted = json.TryGetProperty("omitted", out var omitted) && omitted.ValueKind == JsonValueKind.Array
            ? [.. omitted.EnumerateArray().Where(name => name.ValueKind == JsonValueKind.String).Select(JsonFields.Text)]
            : [];
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

    /// <summary>
    /// The <c>params</c> it was started with, when there were any; null too when this list left them out to keep
    /// within its budget (<see cref="Omitted"/> then names <c>params</c>: <c>GET /api/processes/{id}</c> has them).
    /// </summary>
    public JsonElement? Parameters { get; }

    /// <summary>
    /// The <c>result</c> it completed with, when it gave one; null too when this list left it out (<see cref="Omitted"/>
    /// then names <c>result</c>).
    /// </summary>
    public JsonElement? Result { get; }

    /// <summary>Who cancelled it (a JWT <c>sub</c>), when it was cancelled.</summary>
    public string? CancelledBy { get; }

    /// <summary>How long it ran (<c>duration_ms</c>), once it has ended; null while running.</summary>
    public TimeSpan? Duration { get; }

    /// <summary>
    /// The fields this entry leaves out to keep the list within its 256 KiB budget for <c>params</c> and
    /// <c>result</c> (docs/protocol.md 3.4): <c>params</c>, <c>result</c> or both; empty when none.
    /// </summary>
    public IReadOnlyList<string> Omitted { get; }

    /// <summary>The list entry as the hub sent it.</summary>
    public JsonElement Json { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{ProcessType} {ProcessId} {Status} {Progress} seq {Seq}";
}
