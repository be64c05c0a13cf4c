namespace ProcessHub.Hub.Processes;

/// <summary>What became of a producer's start or change, once it is durable (or refused).</summary>
/// <param name="Status">Accepted, refused because the process had ended, or no such process.</param>
/// <param name="State">The process's state after the change when accepted; its final state when it had ended.</param>
internal readonly record struct TransitionOutcome(TransitionStatus Status, ProcessState? State)
{
    public static TransitionOutcome NotFound => new(TransitionStatus.NotFound, null);

    public bool Accepted => Status == TransitionStatus.Accepted;
}
