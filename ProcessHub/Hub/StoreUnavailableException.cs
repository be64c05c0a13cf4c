namespace ProcessHub.Hub;

/// <summary>
/// The store could not make an event durable, so it was neither published nor acknowledged. The HTTP API answers
/// 503 with <c>Retry-After</c>; an in-process producer sees this exception. Nothing that was acknowledged is affected.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    public StoreUnavailableException()
        : base("the process store is unavailable")
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>
    /// The hub is stopping and its store takes nothing more: unlike a full disk or Redis away, waiting will not help.
    /// The process is ended as the next start says (<c>hub_restarted</c> for an in-process run), or, on a shared engine,
    /// by this hub's stop or the other hubs (<c>hub_lost</c>).
    /// </summary>
    public bool HubStopping { get; init; }
}
