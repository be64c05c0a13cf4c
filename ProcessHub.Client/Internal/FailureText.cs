using System.Net.Sockets;
using System.Net.WebSockets;

namespace ProcessHub.Client.Internal;

/// <summary>
/// A failed connect or a lost connection in a few plain words (<c>connection refused</c>, <c>timed out</c>), for a
/// person reading "cannot reach ws://...: connection refused" rather than a stack of wrapped exception messages.
/// </summary>
internal static class FailureText
{
    public static string Describe(Exception exception)
    {
        if (exception is TimeoutException)
        {
            // An attempt that ran out of ConnectTimeout: the SocketException inside it is the cancel's own
            // (OperationAborted, "Operation canceled"), which says nothing of why.
            return "timed out";
        }
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.TimedOut => "timed out",
                    SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
                    SocketError.NetworkUnreachable or SocketError.HostUnreachable => "network unreachable",
                    SocketError.ConnectionReset => "connection reset",
                    SocketError.ConnectionAborted => "connection aborted",
                    _ => socket.Message,
                };
            }
        }
        return exception switch
        {
            TimeoutException or OperationCanceledException => "timed out",
            WebSocketException { WebSocketErrorCode: WebSocketError.ConnectionClosedPrematurely } => "connection closed without a close frame",
            _ => Innermost(exception).Message,
        };
    }

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is { } inner)
        {
            exception = inner;
        }
        return exception;
    }
}
