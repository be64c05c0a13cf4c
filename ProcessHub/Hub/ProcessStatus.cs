namespace ProcessHub.Hub;

/// <summary>A process's life: running, then exactly one terminal state, which is final.</summary>
public enum ProcessStatus : byte
{
    Running,
    Completed,
    Failed,
    Cancelled,
}
