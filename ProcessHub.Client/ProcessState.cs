namespace ProcessHub.Client;

/// <summary>Where a process stands (the <c>status</c> of a <c>process_list</c> entry).</summary>
public enum ProcessState
{
    /// <summary>Still running: progress may follow.</summary>
    Running,

    /// <summary>Ended with <c>process_completed</c>.</summary>
    Completed,

    /// <summary>Ended with <c>process_failed</c>.</summary>
    Failed,

    /// <summary>Ended with <c>process_cancelled</c>.</summary>
    Cancelled,
}
