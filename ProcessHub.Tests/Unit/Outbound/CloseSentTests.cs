using System.IO.Pipelines;
using System.Net;
using NUnit.Framework;
using ProcessHub.Outbound;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.Outbound;

/// <summary>
/// <see cref="OutboundConnection.CloseSent"/>, which the stop waits on (at most a second) before it drops the sockets:
/// it completes once no close frame can be sent any more, not only once one was.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class CloseSentTests
{
    [Test]
    public void A_close_the_connection_lets_go_of_before_sending_it_completes_CloseSent()
    {
        var connection = new OutboundConnection(new SilentTransport(), new NoHandler(), 1024, SlowConsumerPolicy.Default, new NeverScheduler(), TimeProvider.System);

        // The stop queues its 1001; the peer resets before the writer runs, and the receive loop lets the queue go.
        connection.Close(CloseCode.GoingAway, "server shutting down");
        Assert.That(connection.CloseSent.IsCompleted, Is.False, "queued, not sent");
        ((IWebSocketOutput)connection).Release();

        Assert.That(connection.CloseSent.IsCompleted, Is.True);
    }

    [Test]
    public void A_close_after_the_connection_let_go_of_its_queue_completes_CloseSent()
    {
        var connection = new OutboundConnection(new SilentTransport(), new NoHandler(), 1024, SlowConsumerPolicy.Default, new NeverScheduler(), TimeProvider.System);
        ((IWebSocketOutput)connection).Release();

        connection.Close(CloseCode.GoingAway, "server shutting down");

        Assert.That(connection.CloseSent.IsCompleted, Is.True);
    }

    private sealed class SilentTransport : ITransportConnection
    {
        private readonly Pipe _input = new();

        public long Id => 1;
        public EndPoint? RemoteEndPoint => null;
        public PipeReader Input => _input.Reader;
        public bool IsDisposed { get; private set; }

        public ValueTask SendAsync(ReadOnlyMemory<byte> data) => ValueTask.CompletedTask;

        public void ShutdownSend()
        {
        }

        public void Dispose() => IsDisposed = true;
    }
}
