using System.Text.Json;

namespace ProcessHub.Client;

/// <summary><c>process_failed</c>: a process ended with an error.</summary>
public sealed class ProcessFailed : ProcessEvent
{
    internal ProcessFailed(JsonElement json, string processId, string processType, long seq, DateTimeOffset timestamp, string errorMessage, string? errorCode, TimeSpan duration)
        : base(json, processId, processType, seq, timestamp)
    {
        ErrorMessage = errorMessage;
        ErrorCode = errorCode;
        Duration = duration;
    }

    /// <summary>What went wrong.</summary>
    public string ErrorMessage { get; }

    /// <summary>The producer's error code, when it gave one.</summary>
    public string? ErrorCode { get; }

    /// <summary>How long it ran.</summary>
    public TimeSpan Duration { get; }
}
