using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// An upstream for nginx that resets every connection it takes (an RST, no answer): at once, as a hub that is going
/// away does, or once it has read the request head, as a hub killed with a request on it does. It counts the
/// connections it took, so a test can show nginx tried it.
/// </summary>
internal sealed class ResettingUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly bool _readRequestFirst;
    private readonly Task _accepting;
    private int _taken;

    private ResettingUpstream(bool readRequestFirst)
    {
        _readRequestFirst = readRequestFirst;
        _listener.Start();
        _accepting = Task.Run(AcceptAsync);
    }

    /// <param name="readRequestFirst">Whether each connection's request head is read before the reset.</param>
    public static ResettingUpstream Start(bool readRequestFirst) => new(readRequestFirst);

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Connections taken (and reset) so far.</summary>
    public int Taken => Volatile.Read(ref _taken);

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }
            using (socket)
            {
                if (_readRequestFirst)
                {
                    await ReadHeadAsync(socket);
                }
                Interlocked.Increment(ref _taken);
                socket.LingerState = new LingerOption(true, 0); // closed with an RST, not a FIN
            }
        }
    }

    private static async Task ReadHeadAsync(Socket socket)
    {
        var received = new byte[64 * 1024];
        int length = 0;
        try
        {
            while (length < received.Length && !Encoding.ASCII.GetString(received, 0, length).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int read = await socket.ReceiveAsync(received.AsMemory(length), SocketFlags.None);
                if (read == 0)
                {
                    return;
                }
                length += read;
            }
        }
        catch (SocketException)
        {
            // nginx gave up on it first: nothing left to reset.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting;
    }
}
