using System.Net;

namespace ProcessHub.Server;

/// <summary>What the connection server can be told; the defaults are those of docs/protocol.md section 7.</summary>
public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8501;

    /// <summary>Request head limit (431 past it).</summary>
    public int MaxRequestHeadBytes { get; init; } = 16 * 1024;

    /// <summary>Time allowed for a request head, the handshake included; the socket is closed past it.</summary>
    public TimeSpan RequestHeadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Request body limit for the HTTP API (413 past it).</summary>
    public int MaxRequestBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>Client WebSocket message limit (1009 past it).</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024;

    /// <summary>Outbound bytes a connection may have waiting before it is closed with 4429.</summary>
    public long OutboundByteLimit { get; init; } = 1024 * 1024;

    /// <summary>A connection that does not drain for this long is closed with 4429.</summary>
    public TimeSpan StallLimit { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Heartbeat ping interval; zero disables pings and the idle close.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long shutdown waits for connections to close after sending 1001.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>WebSocket connections in all; past it a new one is closed with 1013.</summary>
    public int MaxConnections { get; init; } = 50_000;

    /// <summary>How outbound queues are woken (see <see cref="Outbound.FlushScheduler"/>); measured in docs/benchmarks.md.</summary>
    public Outbound.FlushScheduler FlushScheduler { get; init; } = Outbound.FlushScheduler.Shared;

    /// <summary>
    /// WebSockets opened since the last reclaim after which, once openings pause, one full GC gives the storm's
    /// garbage back to the OS (see <see cref="MemoryReclaimer"/>); zero turns it off.
    /// </summary>
    public int ReclaimAfterConnections { get; init; } = 1_000;

    /// <summary>Origins a browser may connect from; empty allows any.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>
    /// Host names (without port; IPv6 in brackets) the server answers to, compared without case; empty allows any.
    /// Every request, the WebSocket upgrade included, with another Host is refused with 403 (DNS rebinding defence:
    /// dev mode fills it with the loopback names).
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    internal IPEndPoint ResolveEndPoint()
    {
        if (IPAddress.TryParse(Host, out var address))
        {
            return new IPEndPoint(address, Port);
        }
        if (string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, Port);
        }
        var resolved = Dns.GetHostAddresses(Host);
        if (resolved.Length == 0)
        {
            throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound);
        }
        return new IPEndPoint(resolved[0], Port);
    }
}
