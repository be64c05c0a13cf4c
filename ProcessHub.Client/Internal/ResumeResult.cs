namespace ProcessHub.Client.Internal;

/// <summary>What a resume collected: the replayed events, the events held back meanwhile, and whether nothing was missed.</summary>
internal sealed class ResumeResult
{
    public List<ProcessEvent> Replayed { get; } = [];
    public List<HubEvent> Held { get; } = [];
    public bool Recovered { get; set; } = true;

    /// <summary>Set when the connection ended during the resume.</summary>
    public Incoming Ended { get; set; }
}
