namespace ProcessHub.Client.Internal;

/// <summary>What one receive produced: an event, nothing usable (an unreadable message), or the end of the connection.</summary>
internal readonly struct Incoming
{
    private Incoming(HubEvent? hubEvent, bool ended, int closeStatus, string reason, Exception? exception)
    {
        Event = hubEvent;
        Ended = ended;
        CloseStatus = closeStatus;
        Reason = reason;
        Exception = exception;
    }

    public HubEvent? Event { get; }

    /// <summary>The connection is over: the hub closed it (<see cref="CloseStatus"/>), or it broke (1006).</summary>
    public bool Ended { get; }

    public int CloseStatus { get; }
    public string Reason { get; }
    public Exception? Exception { get; }

    public static Incoming Message(HubEvent? hubEvent) => new(hubEvent, false, 0, "", null);

    public static Incoming Closed(int closeStatus, string reason) => new(null, true, closeStatus, reason, null);

    /// <summary>RFC 6455 section 7.1.5: a connection that ends without a close frame is reported as 1006.</summary>
    public static Incoming Lost(Exception exception) => new(null, true, 1006, FailureText.Describe(exception), exception);

    public static Incoming Lost(string reason) => new(null, true, 1006, reason, null);

    /// <summary>A message over the watcher's own limit: the watcher ends the connection (1009, as RFC 6455 section 7.4.1 has it).</summary>
    public static Incoming TooBig(InvalidDataException exception) => new(null, true, 1009, exception.Message, exception);
}
