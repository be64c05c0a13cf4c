using ProcessHub.Client.Internal;

namespace ProcessHub.Client;

/// <summary>
/// The watcher is connected and authenticated. On a reconnect it comes after the resume, so the events that follow
/// are the ones missed while away (<see cref="ProcessEvent.IsReplay"/>), then a fresh <see cref="ProcessListed"/>,
/// then live events.
/// </summary>
public sealed class HubConnected : HubEvent
{
    internal HubConnected(Uri url, string epoch, bool isReconnect, bool epochChanged, bool recovered)
        : base(null)
    {
        Url = new Uri(SafeUrl.Of(url)); // events get logged whole: a token in the URL's query is not in them
        Epoch = epoch;
        IsReconnect = isReconnect;
        EpochChanged = epochChanged;
        Recovered = recovered;
    }

    /// <summary>The hub's WebSocket URL, with a <c>token</c> in its query shown as <c>token=***</c>.</summary>
    public Uri Url { get; }

    /// <summary>The hub's history epoch.</summary>
    public string Epoch { get; }

    /// <summary>False for the first connection of a <see cref="HubWatcher.WatchAsync"/>, true after a drop.</summary>
    public bool IsReconnect { get; }

    /// <summary>
    /// A reconnect found another epoch: the hub restarted and forgot its history, so nothing could be resumed and the
    /// <see cref="ProcessListed"/> that follows replaces everything known before.
    /// </summary>
    public bool EpochChanged { get; }

    /// <summary>
    /// A reconnect in the same epoch got every event it missed while away: the stream goes on with no gap. False on
    /// the first connection, after an epoch change, and when the hub's history no longer reached back far enough
    /// (or a process was gone from the list); the <see cref="ProcessListed"/> that follows is the state either way.
    /// </summary>
    public bool Recovered { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"connected to {SafeUrl.Of(Url)} (epoch {Epoch}{(IsReconnect ? EpochChanged ? ", new epoch" : Recovered ? ", recovered" : ", not recovered" : "")})";
}
