using System.Security.Cryptography;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// Keeps nothing beyond the hub's own memory (<c>--store memory</c>): every event is published as it is appended,
/// and a restart begins a new epoch with no processes.
/// </summary>
internal sealed class MemoryProcessStore : IProcessStore
{
    private Action<PendingEvent> _publish = static _ => throw new InvalidOperationException("the store is not open");

    public string Description => "memory (nothing survives a restart)";

    public string Kind => "memory";

    public string? Location => null;

    public bool PublishesInline => true;

    public bool Writable => true;

    public StoredProcesses Open(Action<PendingEvent> publish)
    {
        _publish = publish;
        // docs/protocol.md section 3: a new epoch at every start, since nothing of the last run's history is kept.
        return new StoredProcesses(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), []);
    }

    public void Append(PendingEvent pending) => _publish(pending);

    public void Remove(IReadOnlyList<string> processIds)
    {
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
