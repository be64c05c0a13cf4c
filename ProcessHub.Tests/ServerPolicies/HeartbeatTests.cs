using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ServerPolicies;

/// <summary>
/// docs/protocol.md section 5, liveness: the server pings every interval and closes a connection that sent nothing for
/// two intervals. The interval is 1 s so the tests are short, yet a client stalled by a busy machine for most of a
/// second still counts as alive; the tests only wait for events in order, never measure time.
/// </summary>
[TestFixture]
internal sealed class HeartbeatTests
{
    private TestServer _server = null!;

    [SetUp]
    public void StartServer() => _server = TestServer.Start(TestServer.DefaultOptions with { PingInterval = TimeSpan.FromSeconds(1) });

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task A_client_that_answers_pings_stays_connected()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);

        // Three pings span more than two intervals: answering them is what keeps the connection.
        for (int i = 0; i < 3; i++)
        {
            var ping = await client.ReceiveFrameAsync();
            Assert.That(ping.Opcode, Is.EqualTo(Opcodes.Ping), $"ping {i + 1}: {ping}");
            await client.SendAsync(ClientFrame.Pong(ping.Payload));
        }

        await client.SendAsync(ClientFrame.Text("still here"u8));
        var next = await NextNonPingAsync(client);
        Assert.That((next.Opcode, next.Text), Is.EqualTo((Opcodes.Text, "still here")), next.ToString());
    }

    [Test]
    public async Task A_silent_client_is_closed()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);

        // Never answer: the pings go unanswered until the server gives up with a close.
        var close = await NextNonPingAsync(client);

        Assert.That(close.Opcode, Is.EqualTo(Opcodes.Close), close.ToString());
        Assert.That(close.CloseCode, Is.Not.Null, "the server says why it closes");
        await client.AnswerCloseAsync(close);
        await client.ExpectClosedAsync();
    }

    private static async Task<ServerFrame> NextNonPingAsync(RawWebSocketClient client)
    {
        while (true)
        {
            var frame = await client.ReceiveFrameAsync();
            if (frame.Opcode != Opcodes.Ping)
            {
                return frame;
            }
        }
    }
}
