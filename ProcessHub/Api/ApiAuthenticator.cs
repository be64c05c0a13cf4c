using System.Collections.Concurrent;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;

namespace ProcessHub.Api;

/// <summary>
/// Bearer authentication and a per-user request budget for every <c>/api/*</c> call (PROTOCOL.md section 1):
/// 401 for a missing or bad token, 429 past the budget. The failure has been answered when null comes back.
/// </summary>
internal sealed class ApiAuthenticator
{
    private static readonly KeyValuePair<string, string>[] Challenge = [new("WWW-Authenticate", "Bearer")];
    private static readonly KeyValuePair<string, string>[] RetryAfter = [new("Retry-After", "1")];
    private readonly TokenValidator _tokens;
    private readonly HubCounters _counters;
    private readonly int _requestsPerSecond;
    private readonly ConcurrentDictionary<string, RequestBudget> _budgets = new(StringComparer.Ordinal);

    public ApiAuthenticator(TokenValidator tokens, HubCounters counters, int requestsPerSecond)
    {
        _tokens = tokens;
        _counters = counters;
        _requestsPerSecond = requestsPerSecond;
    }

    public async ValueTask<UserIdentity?> AuthenticateAsync(HttpExchange exchange)
    {
        string? authorization = exchange.Request.HeaderString(KnownHeader.Authorization);
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            await exchange.RespondErrorAsync(401, "unauthorized", "missing bearer token", Challenge).ConfigureAwait(false);
            return null;
        }
        var result = _tokens.Validate(authorization["Bearer ".Length..].Trim());
        if (!result.Succeeded)
        {
            _counters.CountAuthFailure(result.FailureReason!);
            await exchange.RespondErrorAsync(401, "unauthorized", result.FailureReason!, Challenge).ConfigureAwait(false);
            return null;
        }
        var identity = result.Identity!;
        var budget = _budgets.GetOrAdd(identity.Subject, _ => new RequestBudget());
        RateDecision decision;
        // The budgets never leave this class, so nothing else can take this lock.
        lock (budget)
        {
            decision = budget.Take(_requestsPerSecond);
        }
        if (decision != RateDecision.Allowed)
        {
            await exchange.RespondErrorAsync(429, "rate_limited", "too many requests; slow down", RetryAfter).ConfigureAwait(false);
            return null;
        }
        // Only now is the request going to be served: a client that sent Expect: 100-continue gets its 100 here and
        // sends the body; a refused one above got its 401/429 without ever sending it.
        await exchange.ReadBodyAsync().ConfigureAwait(false);
        return identity;
    }
}
