using Microsoft.Extensions.Logging;
using ProcessHub.Auth;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// Who a connection is (docs/protocol.md section 2): the token from the upgrade's query, its Authorization header or
/// a first <c>auth</c> message; the per-user connection limit; <c>process_list</c> as the first message; a later
/// <c>auth</c> that extends the connection; and 4401 with a short reason for every failure.
/// </summary>
internal sealed partial class SessionAuthenticator
{
    private readonly TokenValidator _tokens;
    private readonly ConnectionLimits _limits;
    private readonly ProcessRegistry _registry;
    private readonly HubOptions _options;
    private readonly TimeProvider _time;
    private readonly HubCounters _counters;
    private readonly ILogger _logger;

    public SessionAuthenticator(TokenValidator tokens, ConnectionLimits limits, ProcessRegistry registry, HubOptions options, TimeProvider time, HubCounters counters, ILogger logger)
    {
        _tokens = tokens;
        _limits = limits;
        _registry = registry;
        _options = options;
        _time = time;
        _counters = counters;
        _logger = logger;
    }

    /// <summary>docs/protocol.md section 2: the query first, then the Authorization header; else wait for an "auth" message.</summary>
    public void OnOpen(HubSession session, UpgradeRequest request)
    {
        if (session.Connection.IsClosing)
        {
            return; // refused at the door (1013 past the connection limit, 1001 at shutdown): no token check, no list
        }
        string? token = request.QueryToken ?? BearerToken(request.Authorization);
        if (token is not null)
        {
            Authenticate(session, token);
        }
    }

    public void Authenticate(HubSession session, string? token)
    {
        var result = _tokens.Validate(token);
        if (!result.Succeeded)
        {
            Fail(session, result.FailureReason!);
            return;
        }
        var identity = result.Identity!;
        // Registered first, so nothing published from here on is missed: it is held until the list is out.
        if (!_limits.TryAdmit(session, identity))
        {
            session.Connection.Close(CloseCode.TryAgainLater, "too many connections for this user");
            return;
        }
        int replacements = _registry.Replacements;
        string epoch = _registry.Epoch;
        var listed = _registry.SnapshotVisible(identity);
        // An admin's list is a bounded view (docs/protocol.md section 3.4); the live-after points are still set for every
        // process, listed or not, so that a later subscribe ... since replays exactly what this connection missed.
        var list = HubMessageWriter.ProcessList(epoch, listed, _time.GetUtcNow(), ListBudget(identity), _options.Retention);
        try
        {
            session.BecomeReady(list, listed);
        }
        finally
        {
            list.Release();
        }
        while (_registry.Replacements != replacements)
        {
            // The history was replaced while this list was built (in the same epoch or a new one, and the list may
            // mix records from before and after), and the relisting skipped a session not yet ready. Built again
            // here, on this connection's thread while the applier publishes: events are held meanwhile, as for the
            // first list, so none can go out before the list and be taken back by it.
            replacements = _registry.Replacements;
            session.HoldEvents();
            var again = _registry.SnapshotVisible(identity);
            var relist = HubMessageWriter.ProcessList(_registry.Epoch, again, _time.GetUtcNow(), ListBudget(identity), _options.Retention);
            try
            {
                session.BecomeReady(relist, again, startOver: true);
            }
            finally
            {
                relist.Release();
            }
        }
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogAuthenticated(session.Connection.Id, identity.SubjectForLog);
        }
    }

    /// <summary>How many bytes of entries a list may carry: an admin's is a bounded view, a user's is whole.</summary>
    private static int? ListBudget(UserIdentity identity) => identity.IsAdmin ? HubMessageWriter.AdminListBudgetBytes : null;

    /// <summary>
    /// A fresh <c>process_list</c> for a live session, after the hub's history was replaced (a new epoch). Lists are
    /// taken from <paramref name="built"/>, by user (one for every admin), and added to it: the caller releases them.
    /// </summary>
    public void Relist(HubSession session, Dictionary<(string? Subject, bool Admin), (SharedFrame Frame, List<ProcessSnapshot> Listed)> built)
    {
        if (session.Identity is not { } identity || session.Connection.IsClosing)
        {
            return;
        }
        var key = identity.IsAdmin ? (null, true) : (identity.Subject, false);
        if (!built.TryGetValue(key, out var list))
        {
            var listed = _registry.SnapshotVisible(identity);
            // The same bounded view for an admin as the first list (docs/protocol.md section 3.4).
            list = (HubMessageWriter.ProcessList(_registry.Epoch, listed, _time.GetUtcNow(), ListBudget(identity), _options.Retention), listed);
            built.Add(key, list);
        }
        session.Relist(list.Frame, list.Listed);
    }

    // docs/protocol.md section 2: a fresh token for the same sub extends the connection; another sub ends it.
    public void Reauthenticate(HubSession session, string? token)
    {
        var result = _tokens.Validate(token);
        if (!result.Succeeded)
        {
            Fail(session, result.FailureReason!);
            return;
        }
        var current = session.Identity!;
        var fresh = result.Identity!;
        if (fresh.Subject != current.Subject)
        {
            Fail(session, "token is for another user");
            return;
        }
        if (fresh.IsAdmin != current.IsAdmin || fresh.IsProducer != current.IsProducer)
        {
            // Roles decide which index the session lives in, so they are not changed on a live connection; nor may
            // they outlive the token that granted them: a tab kept admin's view of every user's processes for as
            // long as it refreshed with plain tokens (found by a security audit). The client reconnects with the
            // token, and gets what its roles allow from the first process_list.
            Fail(session, "token roles changed");
            return;
        }
        // The fresh token's own identity: immutable and shared among the connections of that token, so the new expiry
        // never goes into an instance another connection holds.
        session.SetIdentity(fresh);
    }

    /// <summary>Past its token's expiry (with the clock skew): the connection must be closed with 4401.</summary>
    // An exp near the end of time ("never", 9999-12-31) plus the skew is past DateTimeOffset.MaxValue: it never comes.
    public bool IsExpired(UserIdentity identity, DateTimeOffset now) =>
        identity.ExpiresAt <= DateTimeOffset.MaxValue - _tokens.Settings.ClockSkew && now >= identity.ExpiresAt + _tokens.Settings.ClockSkew;

    public void Fail(HubSession session, string reason)
    {
        _counters.CountAuthFailure(reason);
        session.Connection.Close(CloseCode.Unauthorized, reason);
    }

    private static string? BearerToken(string? authorization) =>
        authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : null;

    // Debug: a line per connection is most of a connection's CPU in a reconnect storm (docs/benchmarks.md, issue 15);
    // the server sums connections up at Information instead.
    [LoggerMessage(EventId = 0, Level = LogLevel.Debug, Message = "websocket {ConnectionId} authenticated as {Subject}")]
    private partial void LogAuthenticated(long connectionId, string subject);
}
