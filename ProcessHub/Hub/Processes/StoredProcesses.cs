namespace ProcessHub.Hub.Processes;

/// <summary>What a store holds when the hub starts: the epoch its seqs belong to, and the processes it kept.</summary>
internal sealed record StoredProcesses(string Epoch, IReadOnlyList<StoredProcess> Processes);
