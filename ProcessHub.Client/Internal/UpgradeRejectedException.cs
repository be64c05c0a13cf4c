namespace ProcessHub.Client.Internal;

/// <summary>The server answered the WebSocket upgrade with an HTTP status instead of 101.</summary>
internal sealed class UpgradeRejectedException(int status, Exception inner)
    : Exception($"the server answered {status} to the WebSocket upgrade", inner)
{
    public int Status { get; } = status;

    /// <summary>Statuses that pass with time (a proxy's or an overloaded hub's): 408, 429 and 5xx.</summary>
    public bool IsTransient => Status is 408 or 429 or >= 500;
}
