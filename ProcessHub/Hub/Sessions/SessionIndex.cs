using System.Collections.Concurrent;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// Who receives a process's events: the ready-or-not sessions of its owner, and every admin session. The sets are
/// copy-on-write (<see cref="SessionSet"/>): connects and disconnects build new ones under a lock, the publisher
/// (hot) reads a snapshot without one.
/// </summary>
internal sealed class SessionIndex
{
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, SessionSet> _byUser = new(StringComparer.Ordinal);
    private SessionSet _admins = SessionSet.Empty;

    /// <summary>Sessions of non-admin users, by sub (admins are only in <see cref="Admins"/>, never twice).</summary>
    public SessionSet ForUser(string subject) => _byUser.TryGetValue(subject, out var sessions) ? sessions : SessionSet.Empty;

    public SessionSet Admins => Volatile.Read(ref _admins);

    public int CountForUser(string subject)
    {
        int count = ForUser(subject).Count;
        foreach (var admin in Admins)
        {
            if (admin.Identity!.Subject == subject)
            {
                count++;
            }
        }
        return count;
    }

    public void Add(HubSession session)
    {
        var identity = session.Identity!;
        lock (_gate)
        {
            if (identity.IsAdmin)
            {
                Volatile.Write(ref _admins, _admins.With(session));
            }
            else
            {
                _byUser[identity.Subject] = ForUser(identity.Subject).With(session);
            }
        }
    }

    public void Remove(HubSession session)
    {
        var identity = session.Identity;
        if (identity is null)
        {
            return;
        }
        lock (_gate)
        {
            if (identity.IsAdmin)
            {
                Volatile.Write(ref _admins, _admins.Without(session));
                return;
            }
            var remaining = ForUser(identity.Subject).Without(session);
            if (remaining.Count == 0)
            {
                _byUser.TryRemove(identity.Subject, out _);
            }
            else
            {
                _byUser[identity.Subject] = remaining;
            }
        }
    }
}
