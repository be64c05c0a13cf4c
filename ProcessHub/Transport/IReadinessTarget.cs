namespace ProcessHub.Transport;

/// <summary>Something waiting for a socket to become readable through <see cref="ReadinessPoller"/>.</summary>
internal interface IReadinessTarget
{
    /// <summary>Identifies the registration; an event carrying an older token (a closed connection's) is dropped.</summary>
    ulong ReadinessToken { get; }

    /// <summary>Called on the poller's thread: must only hand the work off (queue it), never do it there.</summary>
    void OnReadable();
}
