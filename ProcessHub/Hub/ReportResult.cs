namespace ProcessHub.Hub;

/// <summary>What happened to a producer's report.</summary>
public enum ReportResult : byte
{
    Accepted,

    /// <summary>The process already ended (completed, failed or cancelled): the report is rejected.</summary>
    AlreadyEnded,
}
