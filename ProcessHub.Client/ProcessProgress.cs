using System.Text.Json;

namespace ProcessHub.Client;

/// <summary><c>process_progress</c>: a process moved on.</summary>
public sealed class ProcessProgress : ProcessEvent
{
    internal ProcessProgress(JsonElement json, string processId, string processType, long seq, DateTimeOffset timestamp, ProgressInfo progress)
        : base(json, processId, processType, seq, timestamp) => Progress = progress;

    /// <summary>The progress it reported.</summary>
    public ProgressInfo Progress { get; }
}
