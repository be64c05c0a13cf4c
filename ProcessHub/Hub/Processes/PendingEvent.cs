using ProcessHub.Hub.Messages;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// An accepted event on its way through the store: persisted first, then published, then answered. Its frame was
/// serialized once at acceptance; the store keeps its payload, the registry its frame, every connection a reference.
/// </summary>
internal sealed class PendingEvent
{
    private readonly TaskCompletionSource? _published;

    /// <param name="awaitable">
    /// False when the store publishes inline (the memory store): the producer's call then completes synchronously and
    /// no task is allocated.
    /// </param>
    public PendingEvent(ProcessRecord process, ProcessState state, HubEventKind kind, SharedFrame frame, bool awaitable)
    {
        Process = process;
        State = state;
        Kind = kind;
        Frame = frame;
        if (awaitable)
        {
            // The store's writer completes it; the producer's continuation must not run on (and slow) that writer.
            _published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public ProcessRecord Process { get; }

    /// <summary>The process's state with this event applied.</summary>
    public ProcessState State { get; }

    public HubEventKind Kind { get; }

    public long Seq => State.Seq;

    /// <summary>The event's frame; the pending event holds one reference until it is published.</summary>
    public SharedFrame Frame { get; }

    /// <summary>Completes once the event is durable and delivered (at once for an inline store).</summary>
    public Task Published => _published?.Task ?? Task.CompletedTask;

    /// <summary>Called by the registry after it published the event.</summary>
    public void MarkPublished() => _published?.TrySetResult();

    /// <summary>
    /// The store could not make the event durable: it is never published, the producer is answered with the failure,
    /// and the process's accepted state falls back to what was published (the store fails every event after the
    /// first failure, in order, so the last failed event of a process is the one that finds its state still current).
    /// </summary>
    public void MarkFailed(Exception error)
    {
        lock (Process.Gate)
        {
            if (ReferenceEquals(Process.Accepted, State))
            {
                Process.Accepted = Process.Published;
            }
        }
        Frame.Release();
        _published?.TrySetException(error);
    }
}
