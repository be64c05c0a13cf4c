using System.IO.Pipelines;
using System.Net;
using NUnit.Framework;
using ProcessHub.Outbound;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.Outbound;

/// <summary>
/// Issue 15: the upgrade's 101 is not sent on its own; the connection's first send carries it with the frames queued
/// while the connection opened (the <c>process_list</c>), and it goes out alone only when nothing was queued (a
/// client that authenticates with a message). A transport that records its sends stands in for the socket here:
/// over a real socket, one send and two sends in a row look the same to a reader.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class HandshakeInFirstSendTests
{
    private static readonly byte[] Handshake = "HTTP/1.1 101 Switching Protocols\r\n\r\n"u8.ToArray();

    [Test]
    public void The_101_and_the_first_frame_go_out_in_one_send()
    {
        var transport = new RecordingTransport();
        var list = SharedFrame.CreateText("""{"type":"process_list"}"""u8, FrameKind.List);
        var connection = new OutboundConnection(transport, new SendsOnOpen(list), 1024, SlowConsumerPolicy.Default, new NeverScheduler(), TimeProvider.System, handshake: Handshake);

        connection.Start(new UpgradeRequest(null, null, null, null, Handshake));

        Assert.That(transport.Sends, Has.Count.EqualTo(1), "one send for the 101 and the process_list");
        Assert.That(transport.Sends[0], Is.EqualTo(Handshake.Concat(list.Frame.ToArray()).ToArray()));
        list.Release();
    }

    [Test]
    public void With_nothing_queued_at_open_the_101_goes_out_alone_at_once()
    {
        var transport = new RecordingTransport();
        var connection = new OutboundConnection(transport, new SendsOnOpen(null), 1024, SlowConsumerPolicy.Default, new NeverScheduler(), TimeProvider.System, handshake: Handshake);

        connection.Start(new UpgradeRequest(null, null, null, null, Handshake));

        Assert.That(transport.Sends, Has.Count.EqualTo(1));
        Assert.That(transport.Sends[0], Is.EqualTo(Handshake));
    }

    [Test]
    public void A_close_queued_before_the_connection_starts_still_follows_the_101()
    {
        var transport = new RecordingTransport();
        var scheduler = new RunsAtOnceScheduler();
        var connection = new OutboundConnection(transport, new SendsOnOpen(null), 1024, SlowConsumerPolicy.Default, scheduler, TimeProvider.System, handshake: Handshake);

        connection.Close(1013, "too many connections"); // what the server does over its connection limit

        Assert.That(transport.Sends, Has.Count.EqualTo(1));
        Assert.That(transport.Sends[0].AsSpan(0, Handshake.Length).SequenceEqual(Handshake), Is.True, "the 101 first");
        Assert.That(transport.Sends[0][Handshake.Length], Is.EqualTo(0x88), "then the close frame, in the same send");
    }

    private sealed class SendsOnOpen(SharedFrame? frame) : IConnectionHandler
    {
        public void OnOpen(IOutboundConnection connection, UpgradeRequest request)
        {
            if (frame is not null)
            {
                connection.Send(frame);
            }
        }

        public void OnMessage(IOutboundConnection connection, ReadOnlySpan<byte> utf8)
        {
        }

        public void OnClosed(IOutboundConnection connection)
        {
        }
    }

    /// <summary>Keeps a copy of every send; its input never ends, so the receive loop waits.</summary>
    private sealed class RecordingTransport : ITransportConnection
    {
        private readonly Pipe _input = new();

        public List<byte[]> Sends { get; } = [];
        public long Id => 1;
        public EndPoint? RemoteEndPoint => null;
        public PipeReader Input => _input.Reader;
        public bool IsDisposed { get; private set; }

        public ValueTask SendAsync(ReadOnlyMemory<byte> data)
        {
            Sends.Add(data.ToArray());
            return ValueTask.CompletedTask;
        }

        public void ShutdownSend()
        {
        }

        public void Dispose() => IsDisposed = true;
    }
}
