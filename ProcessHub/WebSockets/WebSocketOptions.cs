namespace ProcessHub.WebSockets;

/// <summary>Per-connection limits of the WebSocket engine (PROTOCOL.md section 5).</summary>
internal sealed record WebSocketOptions
{
    /// <summary>Largest client message, summed over its fragments (1009 past it).</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024;

    /// <summary>Bytes a connection may have queued before it is closed as a slow consumer (4429).</summary>
    public long OutboundByteLimit { get; init; } = 1024 * 1024;

    /// <summary>Where outbound queues drain (see <see cref="Outbound.FlushScheduler"/>).</summary>
    public Outbound.FlushScheduler FlushScheduler { get; init; } = Outbound.FlushScheduler.Shared;
}
