namespace ProcessHub.Hub.Processes;

/// <summary>The five process events of the seed, each one <c>seq</c> step.</summary>
internal enum HubEventKind : byte
{
    Started,
    Progress,
    Completed,
    Failed,
    Cancelled,
}
