using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// What the case tables take for granted about the end of a connection. There, a client that receives a close
/// answers it and half-closes, which lets the server finish at once. Here the client does less, and the server
/// must still end TCP by itself (RFC 6455 7.1.1: the server closes first; 7.1.7: a failed connection is dropped),
/// and the engine must record the code both sides agreed on. Where the server's close timer decides, the server
/// runs on a fake clock that the test moves while it waits.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class CloseHandshakeTests
{
    private TestServer _server = null!;

    private FakeTimeProvider Time => _server.Time!;

    [SetUp]
    public void StartServer() => _server = TestServer.Start(time: new FakeTimeProvider(DateTimeOffset.UtcNow));

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task Protocol_error_with_a_silent_client_still_ends_TCP()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);
        await client.SendRawAsync(ClientFrame.Build(Opcodes.Text, "unmasked"u8, mask: false));

        var close = await client.ReceiveFrameAsync();
        Assert.That(close.CloseCode, Is.EqualTo(CloseCodes.ProtocolError), close.ToString());
        // No answer, no FIN from us: the server's own close timer must end the connection.
        await Eventually.CompletesAsync(Time, client.ExpectClosedAsync(), "the close timer ending TCP");
        Assert.That(await NextClosedAsync(), Is.EqualTo(CloseCodes.ProtocolError));
    }

    [Test]
    public async Task Protocol_error_answered_without_a_FIN_still_ends_TCP()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);
        await client.SendRawAsync(ClientFrame.Build(0x3, []));

        var close = await client.ReceiveFrameAsync();
        Assert.That(close.CloseCode, Is.EqualTo(CloseCodes.ProtocolError), close.ToString());
        await client.SendRawAsync(ClientFrame.Close(CloseCodes.ProtocolError));
        await Eventually.CompletesAsync(Time, client.ExpectClosedAsync(), "the server ending TCP");
        Assert.That(await NextClosedAsync(), Is.EqualTo(CloseCodes.ProtocolError));
    }

    [Test]
    public async Task Normal_close_is_recorded_as_1000_on_the_server()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);
        await client.SendRawAsync(ClientFrame.Close(CloseCodes.Normal, "bye"u8));

        var close = await client.ReceiveFrameAsync();
        Assert.That(close.CloseCode, Is.EqualTo(CloseCodes.Normal), close.ToString());
        await client.ExpectClosedAsync();
        // Our FIN never comes: the server's close timer ends its side, and only then is the code recorded.
        Assert.That(await Eventually.CompletesAsync(Time, NextClosedAsync(), "the server recording the close"), Is.EqualTo(CloseCodes.Normal));
    }

    [Test]
    public async Task A_client_that_vanishes_is_recorded_as_1006()
    {
        var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);
        await client.SendRawAsync(ClientFrame.Text("hello"u8));
        Assert.That((await client.ReceiveFrameAsync()).Text, Is.EqualTo("hello"));
        await client.DisposeAsync();

        Assert.That(await NextClosedAsync(), Is.EqualTo((ushort)1006));
    }

    [TestCase(false, TestName = "Server_close_on_stop_is_1001_and_the_answered_close_ends_TCP")]
    [TestCase(true, TestName = "Messages_sent_before_the_peer_saw_our_close_do_not_hold_up_its_close")]
    public async Task Server_close_on_stop_is_1001_and_the_answered_close_ends_TCP_at_once(bool messagesInFlight)
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);
        // An echo proves the connection is registered before the server stops.
        await client.SendRawAsync(ClientFrame.Text("ready"u8));
        Assert.That((await client.ReceiveFrameAsync()).Text, Is.EqualTo("ready"));

        var stopping = _server.Server.StopAsync();
        var close = await client.ReceiveFrameAsync();
        Assert.That(close.CloseCode, Is.EqualTo(CloseCodes.GoingAway), close.ToString());
        if (messagesInFlight)
        {
            // What a client had in flight when our close crossed it: a binary message (which the protocol refuses), a
            // message cut off by its close, bytes that are not UTF-8, a ping. None of it may fail the read: the close
            // behind it ends the handshake at once, with the fake clock never moved, so the close timer cannot be
            // what ends TCP here.
            byte[] inFlight = [
                .. ClientFrame.Binary([1, 2, 3]),
                .. ClientFrame.Text([0xC3], fin: false),
                .. ClientFrame.Ping("p"u8),
                .. ClientFrame.Continuation([0xFF, 0xFE], fin: false)];
            await client.SendRawAsync(inFlight);
        }
        await client.SendRawAsync(ClientFrame.Close(CloseCodes.GoingAway));
        await client.ExpectClosedAsync();
        await Eventually.CompletesAsync(Time, stopping, "the server stopping");
    }

    [Test]
    public async Task Messages_behind_one_that_made_the_server_close_in_the_same_read_do_not_hold_up_the_close()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);
        // One write: the message that closes, then what a client had in flight behind it, then the client's close.
        // The server's close is queued while this read's frames are being read: those behind it must be skipped as
        // after a close queued before the read (a binary frame failed the read, and the close behind it waited for the
        // close timer, which this fake clock never runs).
        byte[] burst = [
            .. ClientFrame.Text(EchoHandler.CloseRequest),
            .. ClientFrame.Binary([1, 2, 3]),
            .. ClientFrame.Text([0xFF]),
            .. ClientFrame.Close(CloseCodes.Normal)];
        await client.SendRawAsync(burst);

        var close = await client.ReceiveFrameAsync();
        Assert.That(close.CloseCode, Is.EqualTo(CloseCodes.Normal), close.ToString());
        await client.ExpectClosedAsync();
        Assert.That(await NextClosedAsync(), Is.EqualTo(CloseCodes.Normal));
    }

    private async Task<ushort?> NextClosedAsync()
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Receive);
        var closed = await _server.Handler.Closed.ReadAsync(timeout.Token);
        return closed.CloseStatus;
    }
}
