namespace ProcessHub.Client;

/// <summary>
/// The watcher gave up: the hub refused the connection in a way that retrying cannot fix (a rejected token,
/// 4403, a protocol error), or the configured number of attempts ran out.
/// </summary>
public sealed class HubConnectionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HubConnectionException(string message, int? closeStatus = null, Exception? innerException = null)
        : base(message, innerException) => CloseStatus = closeStatus;

    /// <summary>The close code behind it, when the hub sent one.</summary>
    public int? CloseStatus { get; }

    /// <summary>The reason the hub gave with that close code (<c>invalid token</c>, <c>token expired</c>), when it gave one.</summary>
    public string? CloseReason { get; init; }
}
