using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;

namespace ProcessHub.Tests.Unit.Hub;

/// <summary>
/// What the engine counts of an owner's running processes (<c>--max-processes-per-user</c>) must come out right when
/// two ends of one process race and the store refuses the first: the refused end is counted back, the other counted
/// out, in whichever order the two arrive.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class RunningTallyTests
{
    [Test]
    public async Task An_end_the_store_refuses_while_another_end_of_the_process_is_taken_leaves_no_phantom_running_process()
    {
        var options = new HubOptions { MaxProcessesPerUser = 1 };
        var registry = new ProcessRegistry(new Broadcaster(new SessionIndex()), options, TimeProvider.System);
        var store = new RefusingFirstEndStore();
        var engine = new LocalProcessEngine(registry, store, TimeProvider.System);
        store.Engine = engine;
        engine.Open();
        var started = await engine.StartAsync(new ProcessStart("job", "alice", null, "{}"u8.ToArray(), InProcess: false));

        // The worker's complete is refused (a full disk). Before its caller hears of it, a tab's cancel, waiting for
        // that end, is taken and stored: the order a second request can take when the thread pool runs it first.
        Assert.That(async () => await engine.ApplyAsync(started.ProcessId, ProcessChange.Complete(null)), Throws.TypeOf<StoreUnavailableException>());
        Assert.That(store.CancelAccepted, Is.True);
        Assert.That(registry.Find(started.ProcessId)!.Value.Status, Is.EqualTo(ProcessStatus.Cancelled));

        // alice runs nothing now, so her one place is free.
        Assert.That(async () => await engine.StartAsync(new ProcessStart("job", "alice", null, "{}"u8.ToArray(), InProcess: false)), Throws.Nothing);
    }

    /// <summary>
    /// Refuses the first end it is given and, on the same thread (the process's lock is re-entrant), has the engine take
    /// a cancel of the same process as the refusal reaches it; stores (publishes) everything else at once.
    /// </summary>
    private sealed class RefusingFirstEndStore : IProcessStore
    {
        private Action<PendingEvent> _publish = _ => { };
        private bool _refused;

        public LocalProcessEngine? Engine { get; set; }

        public bool CancelAccepted { get; private set; }

        public string Description => "a store that refuses the first end";
        public string Kind => "test";
        public string? Location => null;
        public bool Writable => true;
        public bool PublishesInline => false;

        public StoredProcesses Open(Action<PendingEvent> publish)
        {
            _publish = publish;
            return new StoredProcesses("epoch-1", []);
        }

        public void Append(PendingEvent pending)
        {
            if (pending.Kind == HubEventKind.Completed && !_refused)
            {
                _refused = true;
                pending.MarkFailed(new StoreUnavailableException("no space left on the device"));
                var cancel = Engine!.ApplyAsync(pending.Process.Id, ProcessChange.Cancel("bob"));
                CancelAccepted = cancel.IsCompletedSuccessfully && cancel.Result.Accepted;
                return;
            }
            _publish(pending);
        }

        public void Remove(IReadOnlyList<string> processIds)
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
