using ProcessHub.Hub.Messages;

namespace ProcessHub.Hub.Processes;

/// <summary>One process as a store kept it: who it is, its last durable state, and its retained events as sent.</summary>
internal sealed record StoredProcess(
    string ProcessId,
    string ProcessType,
    string Owner,
    byte[]? ParamsJson,
    DateTimeOffset StartedAt,
    bool InProcess,
    ProcessState State,
    IReadOnlyList<StoredEvent> Events,
    string? ProducerHub = null,
    IdempotencyKey? Idempotency = null);

