namespace ProcessHub.Hub.Processes;

/// <summary>What a producer says when it starts a process.</summary>
/// <param name="InProcess">
/// The producer lives inside this hub (the in-process API, the benchmark runner): the process gets a cancellation
/// token to fire. Processes driven over HTTP learn of a cancel from their next report instead.
/// </param>
internal sealed record ProcessStart(string ProcessType, string Owner, byte[]? ParamsJson, byte[] ProgressJson, bool InProcess);
