using System.Globalization;

using ProcessHub.Client.Internal;

namespace ProcessHub.Client;

/// <summary>
/// The connection ended, or an attempt to open one failed. When <see cref="RetryIn"/> has a value the watcher waits
/// that long and tries again (the wait starts when the consumer asks for the next event); otherwise the sequence
/// ends after this event.
/// </summary>
public sealed class HubDisconnected : HubEvent
{
    internal HubDisconnected(Uri url, bool wasConnected, int? closeStatus, string reason, TimeSpan? retryIn, Exception? exception)
        : base(null)
    {
        Url = new Uri(SafeUrl.Of(url)); // events get logged whole: a token in the URL's query is not in them
        WasConnected = wasConnected;
        CloseStatus = closeStatus;
        Reason = reason;
        RetryIn = retryIn;
        Exception = exception;
    }

    /// <summary>The hub's WebSocket URL, with a <c>token</c> in its query shown as <c>token=***</c>.</summary>
    public Uri Url { get; }

    /// <summary>
    /// True when an open WebSocket ended; false when the hub could not be reached (or the attempt failed). An open one
    /// may end before its <see cref="HubConnected"/> came (a 4401 instead of the list, a drop during the resume), so
    /// a consumer that counts connections counts <see cref="HubConnected"/> events, not these.
    /// </summary>
    public bool WasConnected { get; }

    /// <summary>
    /// The close code the hub sent (1001 when it shuts down, 4429 for a slow reader, ...), or 1006 when the
    /// connection dropped without one; null when no connection was made.
    /// </summary>
    public int? CloseStatus { get; }

    /// <summary>The hub's close reason, or what went wrong (<c>connection refused</c>, <c>timed out</c>, ...).</summary>
    public string Reason { get; }

    /// <summary>How long the watcher waits before its next attempt; null when it will not try again.</summary>
    public TimeSpan? RetryIn { get; }

    /// <summary>The failure behind it, when there was one.</summary>
    public Exception? Exception { get; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"disconnected from {SafeUrl.Of(Url)} ({(CloseStatus is { } code ? $"{code} " : "")}{Reason}){(RetryIn is { } delay ? $", retrying in {delay.TotalSeconds:0.#} s" : "")}");
}
