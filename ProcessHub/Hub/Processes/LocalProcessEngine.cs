using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ProcessHub.Hub.Messages;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// The engine of a hub that runs alone: each process's changes are ordered under its lock, where the next seq is
/// taken and the event is serialized once; the store makes it durable and then it is published. The memory store
/// publishes inline, so with it a change is published before the call returns, as if there were no store.
/// </summary>
internal sealed class LocalProcessEngine : IProcessEngine
{
    private static readonly byte[] HubRestarted = ProgressJson.Error("the hub restarted while this process ran inside it; its producer is gone", "hub_restarted");

    private readonly ProcessRegistry _registry;
    private readonly IProcessStore _store;
    private readonly TimeProvider _time;

    // Running processes per owner, counted when a start or an end is accepted: what --max-processes-per-user bounds.
    private readonly OwnerTally _running = new();

    // Processes started with an Idempotency-Key, by caller and key, for as long as the registry holds them.
    private readonly IdempotentStarts _idempotent = new();

    // When this run of the hub took over the store: no process is stale sooner than --stale-after after it.
    private DateTimeOffset _openedAt;

    // What the hub ends by itself (stale, hub_restarted) is said in the log: no producer asked for it.
    private readonly ILogger _logger;

    public LocalProcessEngine(ProcessRegistry registry, IProcessStore store, TimeProvider time, ILogger? logger = null)
    {
        _registry = registry;
        _store = store;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
    }

    public string Description => _store.Description;

    public string StoreKind => _store.Kind;

    // The seq is taken and the event handed to the store under the process's lock, before the first await.
    public bool OrdersOnCall => true;

    public string? Location => _store.Location;

    private static readonly EngineHealth Writing = new("local", Connected: true);
    private static readonly EngineHealth Refusing = new("local", Connected: false);

    /// <summary>Not connected while the store refuses events (it cannot write): the API answers 503 meanwhile.</summary>
    public EngineHealth Health => _store.Writable ? Writing : Refusing;

    /// <summary>
    /// Takes over what the store kept. Processes driven over HTTP stay running: their worker goes on with its next
    /// report. Those whose producer lived inside the previous run of the hub (the benchmark runner, the in-process API)
    /// cannot go on, so they end here with <c>process_failed</c>, code <c>hub_restarted</c>, before anyone connects.
    /// </summary>
    public void Open()
    {
        _openedAt = _time.GetUtcNow();
        _registry.Restore(_store.Open(_registry.Publish));
        // Ended processes whose retention ran out while no hub ran go now, before anyone connects: the first sweep
        // would take them a moment later, after tabs had listed them.
        var expired = _registry.EvictExpired();
        if (expired.Count > 0)
        {
            _store.Remove(expired);
        }
        foreach (var process in _registry.Records)
        {
            if (!process.Accepted.IsEnded)
            {
                _running.Add(process.Owner);
            }
            if (process.Idempotency is { } key)
            {
                // Kept with the process by a durable store: a repeat after the restart names the same process.
                lock (_idempotent.Gate)
                {
                    _idempotent.Add(key, process, Task.CompletedTask);
                }
            }
        }
        var orphans = new List<Task<TransitionOutcome>>();
        foreach (var process in _registry.Records)
        {
            if (process.InProcess && !process.Published.IsEnded)
            {
                orphans.Add(ApplyAsync(process.Id, ProcessChange.Fail(HubRestarted)).AsTask());
            }
        }
        // Before anyone connects: every tab of the new run sees them ended.
        try
        {
            Task.WhenAll(orphans).GetAwaiter().GetResult();
            if (orphans.Count > 0)
            {
                _logger.LogInformation("processes whose producer ran inside the last run of the hub ended as hub_restarted: {Count}", orphans.Count);
            }
        }
        catch (StoreUnavailableException)
        {
            // A store that cannot write (a full disk) cannot say what the restart did to them: the hub does not start.
            // Let go of the store first (its writer, its lock on the directory), so that it can be opened again.
            _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <exception cref="ProcessLimitException">The owner already has <see cref="HubOptions.MaxProcessesPerUser"/> running.</exception>
    public async ValueTask<ProcessSnapshot> StartAsync(ProcessStart start)
    {
        var pending = CountAndAcceptStart(start, key: null);
        try
        {
            await pending.Published.ConfigureAwait(false);
        }
        catch
        {
            _running.Remove(start.Owner); // never started (the store refused it): it does not count
            throw;
        }
        return new ProcessSnapshot(pending.Process, pending.State);
    }

    /// <summary>
    /// A start with an <c>Idempotency-Key</c>: the look-up and the claim of the key happen under one lock, with the
    /// start taken in order in between, so of two concurrent starts with one key exactly one starts a process. A repeat
    /// of a start still on its way to the store waits for that start's commit, and shares its outcome.
    /// </summary>
    /// <exception cref="IdempotencyKeyReusedException">The key started a process for another request.</exception>
    /// <exception cref="ProcessLimitException">A new start, and the owner already has <see cref="HubOptions.MaxProcessesPerUser"/> running.</exception>
    public async ValueTask<IdempotentStart> StartIdempotentAsync(ProcessStart start, IdempotencyKey key)
    {
        ProcessRecord process;
        Task stored;
        bool replayed;
        lock (_idempotent.Gate)
        {
            if (_idempotent.Find(key) is { } claim && IsHeld(claim))
            {
                if (claim.Process.Idempotency!.Request != key.Request)
                {
                    throw new IdempotencyKeyReusedException();
                }
                (process, stored, replayed) = (claim.Process, claim.Stored, true);
            }
            else
            {
                var pending = CountAndAcceptStart(start, key);
                (process, stored, replayed) = (pending.Process, pending.Published, false);
                _idempotent.Add(key, process, stored);
            }
        }
        try
        {
            await stored.ConfigureAwait(false);
        }
        catch when (!replayed)
        {
            // Never started (the store refused it): it does not count, and a retry with the key may start afresh. A
            // repeat that waited for it gets the same failure.
            _running.Remove(start.Owner);
            _idempotent.Release(process);
            throw;
        }
        return new IdempotentStart(process.Id, replayed);
    }

    // A claim names its process while the start is on its way to the store (a repeat waits for it) and once it is
    // stored for as long as the registry holds it; a start the store refused, or a process let go, no longer counts.
    private bool IsHeld(IdempotentStarts.Claim claim) =>
        !claim.Stored.IsCompleted
        || (claim.Stored.IsCompletedSuccessfully && ReferenceEquals(_registry.FindRecord(claim.Process.Id), claim.Process));

    /// <summary>Counts the start against its owner's limit and takes it in order; the caller uncounts it if the store refuses it.</summary>
    /// <exception cref="ProcessLimitException">The owner already has <see cref="HubOptions.MaxProcessesPerUser"/> running.</exception>
    private PendingEvent CountAndAcceptStart(ProcessStart start, IdempotencyKey? key)
    {
        int limit = _registry.Options.MaxProcessesPerUser;
        if (!_running.TryAdd(start.Owner, limit))
        {
            throw new ProcessLimitException(limit);
        }
        try
        {
            var now = _time.GetUtcNow();
            var state = new ProcessState(ProcessStatus.Running, Seq: 1, start.ProgressJson, LastChangedAt: now);
            var process = new ProcessRecord(NewId(), start.ProcessType, start.Owner, start.ParamsJson, now, state,
                _registry.Options.HistoryLimit, start.InProcess, idempotency: key);
            lock (process.Gate)
            {
                return Accept(process, state, HubEventKind.Started, now);
            }
        }
        catch
        {
            _running.Remove(start.Owner);
            throw;
        }
    }

    public ValueTask<TransitionOutcome> ApplyAsync(string processId, ProcessChange change) => ApplyIfAsync(processId, change, condition: null);

    /// <summary>Applies <paramref name="change"/> if the process still runs and, under its lock, meets <paramref name="condition"/>.</summary>
    private ValueTask<TransitionOutcome> ApplyIfAsync(string processId, ProcessChange change, Func<ProcessState, bool>? condition)
    {
        if (_registry.FindRecord(processId) is not { } process)
        {
            return ValueTask.FromResult(TransitionOutcome.NotFound);
        }
        PendingEvent pending;
        lock (process.Gate)
        {
            var current = process.Accepted;
            if (current.IsEnded && process.PendingEnd is { Published.IsCompleted: false } end)
            {
                // Ended, but not stored yet: "already ended" now could be taken back by a failed commit (or a crash),
                // and a producer told so stops for good while its process runs on (docs/protocol.md 10.2, 10.6).
                return AfterPendingEndAsync(processId, change, condition, end);
            }
            if (current.IsEnded || (condition is not null && !condition(current)))
            {
                return ValueTask.FromResult(new TransitionOutcome(TransitionStatus.AlreadyEnded, current));
            }
            var now = _time.GetUtcNow();
            var next = change.ApplyTo(current, now);
            // A cancel fires the producer's token when it is published (ProcessRegistry.Publish): after the store
            // took it, before anyone can see process_cancelled.
            pending = Accept(process, next, change.Kind, now);
        }
        bool ends = HubEventNames.IsTerminal(change.Kind);
        if (ends)
        {
            _running.Remove(process.Owner);
        }
        var outcome = new TransitionOutcome(TransitionStatus.Accepted, pending.State);
        var published = pending.Published;
        return published.IsCompletedSuccessfully ? ValueTask.FromResult(outcome) : AwaitPublishedAsync(published, outcome, ends ? process.Owner : null);
    }

    public ValueTask<CatchUpOutcome> CatchUpAsync(string processId) => ValueTask.FromResult(CatchUpOutcome.Missing);

    public void Sweep()
    {
        var evicted = _registry.EvictExpired();
        if (evicted.Count > 0)
        {
            _store.Remove(evicted);
            _idempotent.Forget(evicted);
        }
        EndStale();
    }

    /// <summary>
    /// A running process with no report for <see cref="HubOptions.StaleAfter"/> ends with <c>process_failed</c>, code
    /// <c>stale</c>: its producer is presumed gone, and nothing stays "running" for ever.
    /// </summary>
    private void EndStale()
    {
        var staleAfter = _registry.Options.StaleAfter;
        if (staleAfter <= TimeSpan.Zero)
        {
            return;
        }
        var cutoff = _time.GetUtcNow() - staleAfter;
        if (_openedAt > cutoff)
        {
            // Silence while the hub was down is not the producer's: a worker that retried through a long outage gets
            // the whole --stale-after from the restart to report again (docs/protocol.md 10.5).
            return;
        }
        Func<ProcessState, bool>? stillStale = null;
        foreach (var process in _registry.Records)
        {
            var state = process.Published;
            // A producer inside the hub cannot go away without it (the restart ends its processes with hub_restarted),
            // and the benchmark runner may rightly wait longer than the limit between two reports (step_ms).
            if (!process.InProcess && !state.IsEnded && state.LastChangedAt <= cutoff)
            {
                // Checked again under the process's lock: a report that arrived meanwhile keeps it running.
                stillStale ??= accepted => accepted.LastChangedAt <= cutoff;
                var error = ProgressJson.Error(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"no report for {staleAfter.TotalSeconds:0} s: its producer is presumed gone"), "stale");
                _ = LogStaleEndAsync(ApplyIfAsync(process.Id, ProcessChange.Fail(error), stillStale), process.Id, staleAfter);
            }
        }
    }

    // A durable store answers later; a failure there is the store's to report (and the next sweep tries again).
    private async Task LogStaleEndAsync(ValueTask<TransitionOutcome> ending, string processId, TimeSpan staleAfter)
    {
        try
        {
            if ((await ending.ConfigureAwait(false)).Accepted)
            {
                _logger.LogInformation("process {ProcessId} ended as stale: no report for {Seconds} s (--stale-after)", processId, (long)staleAfter.TotalSeconds);
            }
        }
        catch (Exception ex) when (ex is StoreUnavailableException or ObjectDisposedException)
        {
        }
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    // Under the process's lock: this event gets the next seq, and the store receives events in seq order.
    private PendingEvent Accept(ProcessRecord process, ProcessState state, HubEventKind kind, DateTimeOffset now)
    {
        process.Accepted = state;
        var frame = ProcessEventWriter.Write(process, state, kind, now);
        var pending = new PendingEvent(process, state, kind, frame, awaitable: !_store.PublishesInline);
        if (HubEventNames.IsTerminal(kind))
        {
            process.PendingEnd = pending;
        }
        _store.Append(pending);
        return pending;
    }

    // Waits for the commit of an end another change found pending: stored, the process has ended; refused, it runs
    // on, and the change is applied (or refused) against what was published.
    private async ValueTask<TransitionOutcome> AfterPendingEndAsync(string processId, ProcessChange change, Func<ProcessState, bool>? condition, PendingEvent end)
    {
        try
        {
            await end.Published.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The end was not stored (its own caller is told); what happens to this change is decided afresh.
        }
        return await ApplyIfAsync(processId, change, condition).ConfigureAwait(false);
    }

    private async ValueTask<TransitionOutcome> AwaitPublishedAsync(Task published, TransitionOutcome outcome, string? endedOwner)
    {
        try
        {
            await published.ConfigureAwait(false);
        }
        catch when (endedOwner is not null)
        {
            _running.Add(endedOwner); // the end was not stored: the process still runs
            throw;
        }
        return outcome;
    }

    // A producer's cancellation callback that throws must not surface as an unobserved task exception; the process
    // is cancelled regardless.
    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}
