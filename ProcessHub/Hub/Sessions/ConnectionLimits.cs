using ProcessHub.Auth;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// The connection limits for every long-lived connection, not only WebSockets (docs/protocol.md section 5.9): SSE
/// streams count against <c>--max-connections</c> and <c>--max-connections-per-user</c> like WebSockets do, so neither
/// kind can be used to get around the other's limit. WebSockets are counted where they live (the server counts them
/// in all, the <see cref="SessionIndex"/> per user once authenticated); SSE streams are counted here.
/// </summary>
internal sealed class ConnectionLimits
{
    private readonly SessionIndex _sessions;
    private readonly OwnerTally _streamsByUser = new();
    private readonly int _maxPerUser;
    private readonly int _maxInAll;
    private Func<int> _openWebSockets = static () => 0;
    private int _streams;

    // Admissions of one user's connections check the count and add to it as one step: two connections authenticating
    // at once must not both see the last free place. Held for a count and an add, never across I/O.
    private readonly Lock _admission = new();

    public ConnectionLimits(SessionIndex sessions, int maxPerUser, int maxInAll)
    {
        _sessions = sessions;
        _maxPerUser = maxPerUser;
        _maxInAll = maxInAll;
    }

    /// <summary>SSE streams open.</summary>
    public int Streams => Volatile.Read(ref _streams);

    public int StreamsForUser(string subject) => _streamsByUser[subject];

    /// <summary>Where the WebSockets open in all are counted (the server, which the composition builds after this).</summary>
    public void CountWebSocketsWith(Func<int> openWebSockets) => _openWebSockets = openWebSockets;

    /// <summary>Whether <paramref name="subject"/> already holds as many WebSockets and SSE streams as allowed.</summary>
    private bool IsUserFull(string subject) => _sessions.CountForUser(subject) + _streamsByUser[subject] >= _maxPerUser;

    /// <summary>
    /// Registers an authenticated WebSocket session as <paramref name="identity"/> (from then on it receives what is
    /// published) if its user holds fewer connections than allowed; false, and nothing registered, otherwise.
    /// </summary>
    public bool TryAdmit(HubSession session, UserIdentity identity)
    {
        lock (_admission)
        {
            if (IsUserFull(identity.Subject))
            {
                return false;
            }
            session.SetIdentity(identity);
            _sessions.Add(session);
            return true;
        }
    }

    /// <summary>
    /// Counts a new SSE stream of <paramref name="subject"/> if both limits allow it; otherwise counts nothing and says
    /// which limit refused it. A counted stream must be given back with <see cref="CloseStream"/>.
    /// </summary>
    public StreamAdmission TryOpenStream(string subject)
    {
        lock (_admission)
        {
            if (!_streamsByUser.TryAdd(subject, _maxPerUser - _sessions.CountForUser(subject)))
            {
                return StreamAdmission.TooManyForUser;
            }
        }
        if (Interlocked.Increment(ref _streams) + _openWebSockets() > _maxInAll)
        {
            CloseStream(subject);
            return StreamAdmission.TooMany;
        }
        return StreamAdmission.Admitted;
    }

    public void CloseStream(string subject)
    {
        Interlocked.Decrement(ref _streams);
        _streamsByUser.Remove(subject);
    }
}
