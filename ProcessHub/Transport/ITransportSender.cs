namespace ProcessHub.Transport;

/// <summary>
/// The lowest send seam: where a connection's ready bytes go. The socket in production; benchmarks put a counting
/// sink here to measure fan-out without the kernel.
/// </summary>
public interface ITransportSender
{
    /// <summary>Sends every byte; completes synchronously when the socket accepted them without blocking.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data);
}
