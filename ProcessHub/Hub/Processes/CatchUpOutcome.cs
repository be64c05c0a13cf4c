namespace ProcessHub.Hub.Processes;

/// <summary>What the engine says of a process this hub did not know (<see cref="IProcessEngine.CatchUpAsync"/>).</summary>
internal enum CatchUpOutcome
{
    /// <summary>The engine has it and this hub has now applied it: look it up again.</summary>
    Known,

    /// <summary>No such process anywhere (never started, or forgotten after retention): 404, <c>not_found</c>.</summary>
    Missing,

    /// <summary>
    /// The engine cannot say now (Redis unreachable, or this hub could not catch up in time): 503 with Retry-After,
    /// <c>unavailable</c>. Never reported as missing, which a worker would take as final.
    /// </summary>
    Unavailable,
}
