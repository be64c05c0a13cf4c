namespace ProcessHub.Hub.Processes;

/// <summary>How the engine is doing, for /healthz and /metrics.</summary>
/// <param name="Kind"><c>local</c> (this hub alone, over its store) or <c>redis</c> (shared by several hubs).</param>
/// <param name="Connected">Whether the engine can take events now (a shared engine's link is up).</param>
/// <param name="LagEvents">Events the shared engine holds that this hub has not applied yet.</param>
/// <param name="GapsFilled">Times this hub noticed missed events and fetched them.</param>
/// <param name="Resyncs">Times this hub replaced its view of every process (a lost or reset shared store).</param>
internal sealed record EngineHealth(string Kind, bool Connected, long LagEvents = 0, long GapsFilled = 0, long Resyncs = 0);
