using System.IO.Pipelines;
using System.Net;

namespace ProcessHub.Transport;

/// <summary>
/// What the layers above need from one accepted connection: a receive pipe, a send path, and a way to end it. A
/// socket in production (<see cref="ClientConnection"/>); the fan-out benchmarks put a counting sink here to measure
/// the hub without the kernel.
/// </summary>
internal interface ITransportConnection : ITransportSender, IDisposable
{
    long Id { get; }
    EndPoint? RemoteEndPoint { get; }
    PipeReader Input { get; }
    bool IsDisposed { get; }

    /// <summary>Half-closes: our FIN goes out after whatever is already queued (RFC 6455 7.1.1).</summary>
    void ShutdownSend();
}
