namespace ProcessHub.Hub.Processes;

internal enum TransitionStatus : byte
{
    Accepted,

    /// <summary>The process already ended (completed, failed or cancelled): a terminal state is final.</summary>
    AlreadyEnded,

    NotFound,
}
