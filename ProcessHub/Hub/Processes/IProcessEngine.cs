namespace ProcessHub.Hub.Processes;

/// <summary>
/// Where producers' starts and changes are ordered, validated and made durable, then published to the
/// <see cref="ProcessRegistry"/>: the seam a shared engine for several hubs plugs into. The first implementation,
/// <see cref="LocalProcessEngine"/>, orders in this process and persists through an <see cref="IProcessStore"/>.
/// A call completes once its event is durable and published: what was acknowledged to a producer is never lost.
/// </summary>
internal interface IProcessEngine : IAsyncDisposable
{
    /// <summary>Where the processes live, for the banner and /healthz.</summary>
    string Description { get; }

    /// <summary>What keeps the processes (<c>memory</c>, <c>sqlite</c>, <c>redis</c>), for /healthz.</summary>
    string StoreKind { get; }

    /// <summary>Where (a file, a Redis address without its password), for /healthz; null when nothing is kept.</summary>
    string? Location { get; }

    /// <summary>How the engine is doing now.</summary>
    EngineHealth Health { get; }

    /// <summary>Opens the store and hands what it kept to the registry. Call once, before anything else.</summary>
    void Open();

    /// <summary>
    /// True when a change has its place in the order as soon as <see cref="StartAsync"/> or <see cref="ApplyAsync"/>
    /// returns, before its task completes (it then only waits to be stored): the HTTP API may start on a pipelined
    /// request behind it. False when the call may still wait before its change is ordered.
    /// </summary>
    bool OrdersOnCall { get; }

    /// <summary>Starts a process: its <c>process_started</c> is seq 1.</summary>
    ValueTask<ProcessSnapshot> StartAsync(ProcessStart start);

    /// <summary>
    /// Starts a process unless <paramref name="key"/> already started one that is still held: then nothing is started
    /// or published, and the answer names that process (<see cref="IdempotentStart.Replayed"/>). Atomic: of concurrent
    /// starts with one key, one starts the process and the others name it (docs/protocol.md 1.4.1).
    /// </summary>
    /// <exception cref="IdempotencyKeyReusedException">The key started a process for a different request.</exception>
    /// <exception cref="ProcessLimitException">A new start, and the owner is at the limit.</exception>
    ValueTask<IdempotentStart> StartIdempotentAsync(ProcessStart start, IdempotencyKey key);

    /// <summary>Applies one change to a running process; refused once it has ended.</summary>
    ValueTask<TransitionOutcome> ApplyAsync(string processId, ProcessChange change);

    /// <summary>
    /// For an id this hub does not know (yet): whether the engine has it, once this hub has caught up with it. A
    /// shared engine may hold a process another hub started a moment ago, and cannot tell while Redis is away; a
    /// local engine knows all it has.
    /// </summary>
    ValueTask<CatchUpOutcome> CatchUpAsync(string processId);

    /// <summary>Periodic upkeep: forgets processes past the retention window.</summary>
    void Sweep();
}
