namespace ProcessHub.Client.Internal;

/// <summary>The outcome of one connection attempt: an open socket, a failure to retry, or one that ends the watch.</summary>
internal sealed class OpenAttempt
{
    private OpenAttempt(WatchSocket? socket, string? token, string? failure, Exception? exception, HubConnectionException? fatal)
    {
        Socket = socket;
        Token = token;
        Failure = failure;
        Exception = exception;
        Fatal = fatal;
    }

    public static OpenAttempt Cancelled { get; } = new(null, null, null, null, null);

    public WatchSocket? Socket { get; }

    /// <summary>The token the socket was opened with (to recognise it if the hub rejects it).</summary>
    public string? Token { get; }

    /// <summary>Why the attempt failed, in a few words, when it is worth retrying.</summary>
    public string? Failure { get; }

    public Exception? Exception { get; }

    /// <summary>Set when retrying cannot help.</summary>
    public HubConnectionException? Fatal { get; }

    public static OpenAttempt Opened(WatchSocket socket, string token) => new(socket, token, null, null, null);

    public static OpenAttempt Failed(Exception exception) => new(null, null, FailureText.Describe(exception), exception, null);

    public static OpenAttempt GiveUp(HubConnectionException fatal) => new(null, null, null, null, fatal);
}
