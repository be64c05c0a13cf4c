using ProcessHub.Hub.Processes;

namespace ProcessHub.Storage;

/// <summary>One item of the writer's queue: an event to persist, or processes to forget.</summary>
internal readonly record struct StoreCommand(PendingEvent? Event, IReadOnlyList<string>? Removed);
