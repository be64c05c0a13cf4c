using System.IO.Pipelines;
using System.Net;
using ProcessHub.Outbound;

namespace ProcessHub.Transport;

/// <summary>
/// What a WebSocket connection needs from below: a receive pipe, a send path, and a way to end it. A socket in
/// production (<see cref="ClientConnection"/>); the fan-out benchmarks put a counting sink here to measure the
/// hub without the kernel.
/// </summary>
internal interface ITransportConnection : IFrameTransport, IDisposable
{
    long Id { get; }
    EndPoint? RemoteEndPoint { get; }
    PipeReader Input { get; }
    bool IsDisposed { get; }

    /// <summary>Half-closes: our FIN goes out after whatever is already queued (RFC 6455 7.1.1).</summary>
    void ShutdownSend();
}
