using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// Fan-out: one frame, already serialized and framed, handed to every session that may see the process. Each
/// hand-off is a reference-count increment and a queue append; the publisher never touches a socket and never
/// takes a lock a socket writer holds while sending (the queue's lock covers only its own ring).
/// </summary>
internal sealed class Broadcaster : IEventFanOut
{
    private readonly SessionIndex _sessions;

    public Broadcaster(SessionIndex sessions) => _sessions = sessions;

    /// <summary>Delivers the frame of a process's event; called under the process's lock, in seq order.</summary>
    public void Publish(string owner, string processId, long seq, SharedFrame frame)
    {
        foreach (var session in _sessions.ForUser(owner))
        {
            session.Deliver(frame, processId, seq);
        }
        foreach (var admin in _sessions.Admins)
        {
            admin.Deliver(frame, processId, seq);
        }
    }
}
