using System.Collections.Concurrent;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// Every session of this hub, authenticated or not, by connection id: what the timers walk. (Who receives an
/// event is the <see cref="SessionIndex"/>'s business, which holds only authenticated sessions.)
/// </summary>
internal sealed class SessionTable
{
    private readonly ConcurrentDictionary<long, HubSession> _sessions = new();

    public int Count => _sessions.Count;

    public void Add(HubSession session) => _sessions[session.Connection.Id] = session;

    public void Remove(HubSession session) => _sessions.TryRemove(session.Connection.Id, out _);

    /// <summary>
    /// Walks the sessions without copying them: enumerating the dictionary itself, not .Values, which copies every
    /// session into a new list (80 KB of garbage per walk at 10,000 idle connections).
    /// </summary>
    public IEnumerator<KeyValuePair<long, HubSession>> GetEnumerator() => _sessions.GetEnumerator();
}
