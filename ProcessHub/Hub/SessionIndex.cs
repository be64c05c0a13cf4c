using System.Collections.Concurrent;

namespace ProcessHub.Hub;

/// <summary>
/// Who receives a process's events: the ready-or-not sessions of its owner, and every admin session. Arrays are
/// copy-on-write: connects and disconnects (rare) build new ones under a lock, the publisher (hot) reads without one.
/// </summary>
internal sealed class SessionIndex
{
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, HubSession[]> _byUser = new(StringComparer.Ordinal);
    private HubSession[] _admins = [];

    /// <summary>Sessions of non-admin users, by sub (admins are only in <see cref="Admins"/>, never twice).</summary>
    public HubSession[] ForUser(string subject) => _byUser.TryGetValue(subject, out var sessions) ? sessions : [];

    public HubSession[] Admins => Volatile.Read(ref _admins);

    public int CountForUser(string subject)
    {
        int count = ForUser(subject).Length;
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
                Volatile.Write(ref _admins, [.. _admins, session]);
            }
            else
            {
                _byUser[identity.Subject] = [.. ForUser(identity.Subject), session];
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
                Volatile.Write(ref _admins, _admins.Where(s => s != session).ToArray());
                return;
            }
            var remaining = ForUser(identity.Subject).Where(s => s != session).ToArray();
            if (remaining.Length == 0)
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
