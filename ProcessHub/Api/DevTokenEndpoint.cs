using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using ProcessHub.Auth;
using ProcessHub.Http;

namespace ProcessHub.Api;

/// <summary>
/// Dev mode only (no JWT secret or key configured, so the hub signs with a random secret of this run and listens on
/// loopback only): <c>GET /api/dev-token</c> hands out the banner's token of user <c>dev</c>, and
/// <c>?user=NAME</c> (with <c>&amp;role=admin</c> or <c>&amp;role=producer</c>) mints one for anyone else, so several
/// users can be tried side by side without setting up a secret. Never mapped when a secret or key is configured.
/// </summary>
internal sealed partial class DevTokenEndpoint
{
    /// <summary>How long a minted token lives: the whole of a working day, and it dies with the run anyway.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>
    /// The banner's token is handed out while it has at least this long left; after that a fresh one is minted. A
    /// dev run left up past the token's day would otherwise hand every tab the expired token again: the tab's
    /// connection is closed with 4401 at expiry, it asks for a fresh token (docs/protocol.md 2.5) and got the same one.
    /// </summary>
    public static readonly TimeSpan DefaultFreshFor = TimeSpan.FromHours(1);

    private const string DevUser = "dev";
    private static readonly KeyValuePair<string, string>[] NoStore = [new("Cache-Control", "no-store")];
    private readonly TokenValidator _tokens;
    private readonly string _devToken;
    private readonly DateTime _devTokenExpires;
    private readonly TimeSpan _freshFor;

    /// <param name="freshFor">See <see cref="DefaultFreshFor"/>; tests hand out a token of seconds with zero.</param>
    public DevTokenEndpoint(TokenValidator tokens, string devToken, TimeSpan? freshFor = null)
    {
        _tokens = tokens;
        _devToken = devToken;
        _devTokenExpires = new JsonWebToken(devToken).ValidTo;
        _freshFor = freshFor ?? DefaultFreshFor;
    }

    public void MapTo(Router router) => router.Map("GET", "/api/dev-token", IssueAsync);

    private ValueTask IssueAsync(HttpExchange exchange)
    {
        if (exchange.Request.QueryRepeats("user", "role") is { } repeated)
        {
            return exchange.RespondErrorAsync(400, "bad_request", repeated == "role"
                ? "the query gives role more than once: give several roles as one, comma-separated (role=admin,producer)"
                : $"the query gives {repeated} more than once");
        }
        string user = exchange.Request.QueryParameter("user") ?? DevUser;
        string? role = exchange.Request.QueryParameter("role");
        if (!UserName().IsMatch(user))
        {
            // A sub ends up in page titles, logs and cancelled_by: keep it to a plain, short name.
            return exchange.RespondErrorAsync(400, "bad_request", "user must be 1 to 64 characters: letters, digits and . _ - @, starting with a letter or digit");
        }
        // Several roles comma-separated: an admin drives processes only with the producer role too (decision 8), and
        // `processhub token --role` is repeatable, so a dev token must be able to carry both.
        var roles = new List<string>(2);
        foreach (string name in (role ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (name is not ("admin" or "producer"))
            {
                return exchange.RespondErrorAsync(400, "bad_request", "role must be admin, producer or both (role=admin,producer)");
            }
            if (!roles.Contains(name))
            {
                roles.Add(name);
            }
        }
        // The plain dev user gets the very token the banner printed, so that what a person pastes and what the page
        // uses are the same string, until it is close to its end.
        bool banner = user == DevUser && roles.Count == 0 && _devTokenExpires - DateTime.UtcNow > _freshFor;
        string token = banner ? _devToken : _tokens.Issue(user, roles, Lifetime);
        return exchange.RespondJsonAsync(200, new { user, roles, token }, headers: NoStore);
    }

    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\z")]
    private static partial Regex UserName();
}
