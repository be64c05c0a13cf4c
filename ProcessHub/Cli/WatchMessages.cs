using System.Globalization;
using ProcessHub.Client;

namespace ProcessHub.Cli;

/// <summary>What <c>watch</c> says about its connection, in plain words (no token ever: the URL carries none).</summary>
internal static class WatchMessages
{
    public const string Prefix = "processhub watch: ";

    public static string Disconnected(HubDisconnected disconnected)
    {
        string retry = disconnected.RetryIn is { } delay ? $", retrying in {Seconds(delay)}" : "";
        if (!disconnected.WasConnected)
        {
            return $"cannot reach {disconnected.Url} ({disconnected.Reason}){retry}";
        }
        if (disconnected.CloseStatus == 1006)
        {
            return $"lost the connection to {disconnected.Url} ({disconnected.Reason}){retry}";
        }
        string reason = disconnected.Reason.Length > 0 ? $" {disconnected.Reason}" : "";
        return $"the hub closed the connection ({disconnected.CloseStatus}{reason}){retry}";
    }

    public static string Reconnected(HubConnected connected) =>
        connected.EpochChanged ? $"reconnected to {connected.Url} (the hub had restarted)"
        : connected.Recovered ? $"reconnected to {connected.Url} (nothing missed)"
        : $"reconnected to {connected.Url} (some updates missed)";

    // "2 s", "1.5 s", "0.3 s": enough precision to see the backoff grow, no more.
    private static string Seconds(TimeSpan delay) => string.Create(CultureInfo.InvariantCulture, $"{delay.TotalSeconds:0.#} s");
}
