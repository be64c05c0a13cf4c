using System.Net;
using System.Net.Sockets;

namespace ProcessHub.Tests.Client;

/// <summary>
/// An HttpClient handler whose host name resolves (to <paramref name="hub"/>, over a real connection) except for the next
/// <see cref="FailNext"/> attempts, which fail as a resolver would with the error given: no test can make a real DNS
/// server drop a name, and CI has no network to ask one. Connections are not reused, so that every request resolves
/// the name again.
/// </summary>
internal sealed class FailingResolverHandler : DelegatingHandler
{
    private readonly IPEndPoint _hub;
    private readonly SocketError _error;
    private int _failuresLeft;
    private int _failed;

    /// <summary>How many attempts failed to resolve the name.</summary>
    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Makes the next <paramref name="attempts"/> attempts fail to resolve.</summary>
    public void FailNext(int attempts) => Volatile.Write(ref _failuresLeft, attempts);

    private FailingResolverHandler(IPEndPoint hub, SocketError error)
        : base(new SocketsHttpHandler())
    {
        _hub = hub;
        _error = error;
        ((SocketsHttpHandler)InnerHandler!).ConnectCallback = ConnectAsync;
    }

    /// <summary>A handler whose first <paramref name="failFirst"/> attempts fail with <paramref name="error"/>.</summary>
    public static FailingResolverHandler Create(IPEndPoint hub, SocketError error, int failFirst)
    {
        var handler = new FailingResolverHandler(hub, error);
        handler.FailNext(failFirst);
        return handler;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.ConnectionClose = true;
        return base.SendAsync(request, cancellationToken);
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            Interlocked.Increment(ref _failed);
            throw new SocketException((int)_error);
        }
        var socket = new Socket(_hub.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(_hub, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
