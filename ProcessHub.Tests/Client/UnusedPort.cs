using System.Net;
using System.Net.Sockets;

namespace ProcessHub.Tests.Client;

/// <summary>A loopback end point with nothing listening: a port bound to reserve a number, then closed again.</summary>
internal static class UnusedPort
{
    public static IPEndPoint Get()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }
}
