using System.Text.Json;

namespace ProcessHub.Client;

/// <summary><c>process_started</c>: a process began.</summary>
public sealed class ProcessStarted : ProcessEvent
{
    internal ProcessStarted(JsonElement json, string processId, string processType, long seq, DateTimeOffset timestamp, string owner, ProgressInfo progress, JsonElement? parameters)
        : base(json, processId, processType, seq, timestamp)
    {
        Owner = owner;
        Progress = progress;
        Parameters = parameters;
    }

    /// <summary>The user it belongs to.</summary>
    public string Owner { get; }

    /// <summary>Its initial progress (often 0 of the total).</summary>
    public ProgressInfo Progress { get; }

    /// <summary>The <c>params</c> it was started with, when there were any.</summary>
    public JsonElement? Parameters { get; }
}
