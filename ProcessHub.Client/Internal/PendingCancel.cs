namespace ProcessHub.Client.Internal;

/// <summary>A <c>cancel_process</c> sent and not yet answered: by <c>process_cancelled</c>, an <c>error</c>, or the connection's end.</summary>
internal sealed class PendingCancel(string processId)
{
    public string ProcessId { get; } = processId;
    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
