using System.Net.Sockets;

namespace ProcessHub.Client.Internal;

/// <summary>
/// Whether a failed attempt failed because the hub's host name does not exist (the resolver answered "no such name"
/// or "no address for it"), as opposed to a resolver that could not be asked (<see cref="SocketError.TryAgain"/>: no
/// network yet, a DNS server down), which may well pass and so is retried like a refused connection. Asked by the
/// producer and by <c>processhub watch</c>: a name that does not exist before the hub ever answered is a typo.
/// </summary>
internal static class UnresolvedHost
{
    public static bool Is(Exception? exception)
    {
        // The socket error sits under the dev-token fetch's HttpRequestException or the WebSocket's
        // WebSocketException -> HttpRequestException: the chain is walked to it.
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is SocketException socket)
            {
                return socket.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData;
            }
        }
        return false;
    }
}
