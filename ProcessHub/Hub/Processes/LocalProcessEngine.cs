using System.Security.Cryptography;
using ProcessHub.Hub.Messages;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// The engine of a hub that runs alone: each process's changes are ordered under its lock, where the next seq is
/// taken and the event is serialized once; the store makes it durable and then it is published. The memory store
/// publishes inline, so with it a change is published before the call returns, as if there were no store.
/// </summary>
internal sealed class LocalProcessEngine : IProcessEngine
{
    private readonly ProcessRegistry _registry;
    private readonly IProcessStore _store;
    private readonly TimeProvider _time;

    public LocalProcessEngine(ProcessRegistry registry, IProcessStore store, TimeProvider time)
    {
        _registry = registry;
        _store = store;
        _time = time;
    }

    public string Description => _store.Description;

    public void Open() => _registry.Restore(_store.Open(_registry.Publish));

    public async ValueTask<ProcessSnapshot> StartAsync(ProcessStart start)
    {
        var now = _time.GetUtcNow();
        var state = new ProcessState(ProcessStatus.Running, Seq: 1, start.ProgressJson, LastChangedAt: now);
        var process = new ProcessRecord(NewId(), start.ProcessType, start.Owner, start.ParamsJson, now, state,
            _registry.Options.HistoryLimit, start.InProcess);
        PendingEvent pending;
        lock (process.Gate)
        {
            pending = Accept(process, state, HubEventKind.Started, now);
        }
        await pending.Published.ConfigureAwait(false);
        return new ProcessSnapshot(process, state);
    }

    public ValueTask<TransitionOutcome> ApplyAsync(string processId, ProcessChange change)
    {
        if (_registry.FindRecord(processId) is not { } process)
        {
            return ValueTask.FromResult(TransitionOutcome.NotFound);
        }
        PendingEvent pending;
        lock (process.Gate)
        {
            var current = process.Accepted;
            if (current.IsEnded)
            {
                return ValueTask.FromResult(new TransitionOutcome(TransitionStatus.AlreadyEnded, current));
            }
            var now = _time.GetUtcNow();
            var next = change.ApplyTo(current, now);
            if (change.Kind == HubEventKind.Cancelled)
            {
                // The token is cancelled before anyone can see process_cancelled: whoever sees the event may rely on
                // the producer having been told. CancelAsync flips the token now and runs the producer's callbacks
                // later on the thread pool, never under this lock (a callback may call back into the engine).
                ObserveCallbackFailures(process.ProducerCancellation.CancelAsync());
            }
            pending = Accept(process, next, change.Kind, now);
        }
        var outcome = new TransitionOutcome(TransitionStatus.Accepted, pending.State);
        var published = pending.Published;
        return published.IsCompletedSuccessfully ? ValueTask.FromResult(outcome) : AwaitPublishedAsync(published, outcome);
    }

    public void Sweep()
    {
        var evicted = _registry.EvictExpired();
        if (evicted.Count > 0)
        {
            _store.Remove(evicted);
        }
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    // Under the process's lock: this event gets the next seq, and the store receives events in seq order.
    private PendingEvent Accept(ProcessRecord process, ProcessState state, HubEventKind kind, DateTimeOffset now)
    {
        process.Accepted = state;
        var frame = ProcessEventWriter.Write(process, state, kind, now);
        var pending = new PendingEvent(process, state, kind, frame, awaitable: !_store.PublishesInline);
        _store.Append(pending);
        return pending;
    }

    private static async ValueTask<TransitionOutcome> AwaitPublishedAsync(Task published, TransitionOutcome outcome)
    {
        await published.ConfigureAwait(false);
        return outcome;
    }

    // A producer's cancellation callback that throws must not surface as an unobserved task exception; the process
    // is cancelled regardless.
    private static void ObserveCallbackFailures(Task callbacks)
    {
        if (!callbacks.IsCompletedSuccessfully)
        {
            callbacks.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}
