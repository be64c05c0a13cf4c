using System.Net;
using System.Net.Sockets;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>A loopback port free a moment ago, for programs that take a port on their command line (redis-server, nginx).</summary>
internal static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
