using System.Globalization;
using ProcessHub.Client;
using ProcessHub.Client.Internal;

namespace ProcessHub.Cli;

/// <summary>
/// What <c>watch</c> says about its connection, in plain words. Never a token: one given in <c>--url</c>'s query
/// (as the dev banner prints it) is shown as <c>token=***</c>.
/// </summary>
internal static class WatchMessages
{
    public const string Prefix = "processhub watch: ";

    public static string Disconnected(HubDisconnected disconnected)
    {
        string retry = disconnected.RetryIn is { } delay ? $", retrying in {Seconds(delay)}" : "";
        if (!disconnected.WasConnected)
        {
            return $"cannot reach {Shown(disconnected.Url)} ({disconnected.Reason}){retry}";
        }
        if (disconnected.CloseStatus == 1006)
        {
            return $"lost the connection to {Shown(disconnected.Url)} ({disconnected.Reason}){retry}";
        }
        string reason = disconnected.Reason.Length > 0 ? $" {disconnected.Reason}" : "";
        return $"the hub closed the connection ({disconnected.CloseStatus}{reason}){retry}";
    }

    /// <summary>
    /// The first attempt found no such host: a typo in <c>--url</c> far more often than a network blip, so <c>watch</c>
    /// ends with this rather than retrying a name that will not resolve. Only the host and the URL (without its token).
    /// </summary>
    public static string UnknownHost(Uri url) =>
        $"{url.Host} does not resolve (host not found): check --url ({Shown(url)})";

    /// <summary>
    /// Added to "the hub rejected the token" when that hub is in dev mode: its tokens are signed with a key made for
    /// each run, so one from an earlier run (the banner's, pasted into --token) is refused, and without a token watch
    /// fetches the current run's from /api/dev-token, before every connection.
    /// </summary>
    public const string DevTokenHint =
        "; the hub is in dev mode, where a token lasts one run of the hub: without --token (and PROCESSHUB_TOKEN) watch fetches the current run's dev token";

    public static string Reconnected(HubConnected connected) =>
        connected.EpochChanged ? $"reconnected to {Shown(connected.Url)} (the hub had restarted)"
        : connected.Recovered ? $"reconnected to {Shown(connected.Url)} (nothing missed)"
        : $"reconnected to {Shown(connected.Url)} (some updates missed)";

    /// <summary>The URL as printed: a <c>token</c> in its query replaced by <c>***</c>, the rest as given.</summary>
    internal static string Shown(Uri url) => SafeUrl.Of(url);

    // "2 s", "1.5 s", "0.3 s": enough precision to see the backoff grow, no more.
    private static string Seconds(TimeSpan delay) => string.Create(CultureInfo.InvariantCulture, $"{delay.TotalSeconds:0.#} s");
}
