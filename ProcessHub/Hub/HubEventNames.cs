namespace ProcessHub.Hub;

/// <summary>The wire names of the process events (the seed's table).</summary>
internal static class HubEventNames
{
    public static string Of(HubEventKind kind) => kind switch
    {
        HubEventKind.Started => "process_started",
        HubEventKind.Progress => "process_progress",
        HubEventKind.Completed => "process_completed",
        HubEventKind.Failed => "process_failed",
        _ => "process_cancelled",
    };

    public static bool IsTerminal(HubEventKind kind) => kind is HubEventKind.Completed or HubEventKind.Failed or HubEventKind.Cancelled;
}
