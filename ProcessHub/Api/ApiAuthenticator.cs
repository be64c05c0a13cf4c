using System.Collections.Concurrent;
using System.Net;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Hub.Sessions;
using Microsoft.Extensions.Logging;

namespace ProcessHub.Api;

/// <summary>
/// Bearer authentication and a per-user request budget for every <c>/api/*</c> call (docs/protocol.md section 1):
/// 401 for a missing or bad token, 429 past the budget. The failure has been answered when null comes back.
/// </summary>
internal sealed partial class ApiAuthenticator
{
    private static readonly KeyValuePair<string, string>[] Challenge = [new("WWW-Authenticate", "Bearer")];
    private readonly TokenValidator _tokens;
    private readonly HubCounters _counters;
    private readonly int _requestsPerSecond;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RequestBudget> _budgets = new(StringComparer.Ordinal);

    // Budgets are kept per user; without pruning the map held every user that ever called the API, for the life of
    // the process (issue 13, item 11). Idle ones are dropped whenever the map has doubled since the last pruning.
    private const int MinPruneAt = 1024;
    private int _pruneAt = MinPruneAt;

    public ApiAuthenticator(TokenValidator tokens, HubCounters counters, int requestsPerSecond, TimeProvider time, ILogger logger)
    {
        _logger = logger;
        _tokens = tokens;
        _counters = counters;
        _requestsPerSecond = requestsPerSecond;
        _time = time;
    }

    /// <summary>
    /// When what <paramref name="caller"/>'s token opened must end: its expiry with the clock skew, as for a WebSocket
    /// (docs/protocol.md 2.6); <see cref="DateTimeOffset.MaxValue"/> for a token that never expires in practice.
    /// </summary>
    public DateTimeOffset EndOf(UserIdentity caller) =>
        caller.ExpiresAt <= DateTimeOffset.MaxValue - _tokens.Settings.ClockSkew ? caller.ExpiresAt + _tokens.Settings.ClockSkew : DateTimeOffset.MaxValue;

    /// <param name="exchange">The request; answered here when authentication fails.</param>
    /// <param name="acceptQueryToken">
    /// Also take the token from <c>?token=</c>, checked before the header exactly as <c>/ws</c> does. Only for the SSE
    /// streams: the browser's <c>EventSource</c> cannot send headers, while every other call can (fetch does), and a
    /// token in a URL is easier to leak (history, proxies), so no other route accepts one. The query is never logged.
    /// </param>
    public async ValueTask<UserIdentity?> AuthenticateAsync(HttpExchange exchange, bool acceptQueryToken = false, bool readBody = true)
    {
        if (acceptQueryToken && exchange.Request.QueryRepeats("token") is { } repeated)
        {
            await exchange.RespondErrorAsync(400, "bad_request", $"the query gives {repeated} more than once").ConfigureAwait(false);
            return null;
        }
        // An empty (or blank) ?token= counts as none, as at /ws, so it cannot hide a valid Authorization header.
        string? token = acceptQueryToken && exchange.Request.QueryParameter("token") is { } fromQuery && !string.IsNullOrWhiteSpace(fromQuery) ? fromQuery : null;
        string? authorization = exchange.Request.HeaderString(KnownHeader.Authorization);
        if (token is null && authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = authorization["Bearer ".Length..].Trim();
        }
        if (token is null)
        {
            string missing = acceptQueryToken ? "missing token (Authorization: Bearer or ?token=)" : "missing bearer token";
            LogRefused(exchange.Request.MethodString, exchange.Request.PathString, exchange.Remote, missing);
            await exchange.RespondErrorAsync(401, "unauthorized", missing, Challenge).ConfigureAwait(false);
            return null;
        }
        var result = _tokens.Validate(token);
        if (!result.Succeeded)
        {
            _counters.CountAuthFailure(result.FailureReason!);
            LogRefused(exchange.Request.MethodString, exchange.Request.PathString, exchange.Remote, result.FailureReason!);
            await exchange.RespondErrorAsync(401, "unauthorized", result.FailureReason!, Challenge).ConfigureAwait(false);
            return null;
        }
        var identity = result.Identity!;
        if (_budgets.Count >= Volatile.Read(ref _pruneAt))
        {
            PruneIdleBudgets();
        }
        var budget = _budgets.GetOrAdd(identity.Subject, _ => new RequestBudget());
        RateDecision decision;
        // The budgets never leave this class, so nothing else can take this lock.
        lock (budget)
        {
            decision = budget.Take(_requestsPerSecond, _time);
        }
        if (decision != RateDecision.Allowed)
        {
            await exchange.RespondErrorAsync(429, "rate_limited", $"too many requests: at most {_requestsPerSecond} a second for each user (--api-rate-limit); slow down", RetryAfterHeader.OneSecond).ConfigureAwait(false);
            return null;
        }
        // Only now is the request going to be served: a client that sent Expect: 100-continue gets its 100 here and
        // sends the body; a refused one above got its 401/429 without ever sending it. A caller that may still refuse
        // (403, 404 for a process) reads the body itself once it will serve the request.
        if (readBody)
        {
            await exchange.ReadBodyAsync().ConfigureAwait(false);
        }
        return identity;
    }

    /// <summary>Drops the budgets of users idle for a second or more (their buckets are full: nothing is lost).</summary>
    private void PruneIdleBudgets()
    {
        lock (_budgets)
        {
            if (_budgets.Count < _pruneAt)
            {
                return; // another request pruned meanwhile
            }
            foreach (var (subject, budget) in _budgets)
            {
                if (budget.IsIdle(_time))
                {
                    _budgets.TryRemove(KeyValuePair.Create(subject, budget));
                }
            }
            Volatile.Write(ref _pruneAt, Math.Max(MinPruneAt, _budgets.Count * 2));
        }
    }

    // The WebSocket's 4401 is logged at debug with its reason (ConnectionServer); an API call's 401 left an operator
    // with a count and nothing else. The path only: the query may hold the token (?token= on the streams).
    [LoggerMessage(EventId = 0, Level = LogLevel.Debug, Message = "request {Method} {Path} from {Remote} refused with 401 ({Reason})")]
    private partial void LogRefused(string method, string path, EndPoint? remote, string reason);

    /// <summary>Users with a request budget now (for tests).</summary>
    internal int BudgetCount => _budgets.Count;
}
