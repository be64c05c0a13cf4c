namespace ProcessHub.Hub;

/// <summary>
/// Fan-out: one frame, already serialized and framed, handed to every session that may see the process. Each
/// hand-off is a reference-count increment and a queue append; the publisher never touches a socket and never
/// takes a lock a socket writer holds while sending (the queue's lock covers only its own ring).
/// </summary>
internal sealed class Broadcaster
{
    private readonly SessionIndex _sessions;
    private long _eventsPublished;

    public Broadcaster(SessionIndex sessions) => _sessions = sessions;

    public long EventsPublished => Interlocked.Read(ref _eventsPublished);

    /// <summary>Delivers the frame of the process's current event; call under the process's lock.</summary>
    public void Publish(ProcessRecord process, Outbound.SharedFrame frame)
    {
        Interlocked.Increment(ref _eventsPublished);
        long seq = process.Seq;
        foreach (var session in _sessions.ForUser(process.Owner))
        {
            session.Deliver(frame, process.Id, seq);
        }
        foreach (var admin in _sessions.Admins)
        {
            admin.Deliver(frame, process.Id, seq);
        }
    }
}
