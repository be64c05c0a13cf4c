using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ServerPolicies;

/// <summary>
/// docs/protocol.md section 5, liveness: the server pings every interval and closes a connection that sent nothing for
/// two intervals. The server runs on a fake clock with the contract's 30 s interval; the tests move the clock only
/// while they wait for the next frame, so a client that answers at once has spent no time at all on the server's
/// clock, however busy the machine.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class HeartbeatTests
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private TestServer _server = null!;

    [SetUp]
    public void StartServer() => _server = TestServer.Start(
        TestServer.DefaultOptions with { PingInterval = TimeSpan.FromSeconds(30) },
        time: new FakeTimeProvider(DateTimeOffset.UtcNow));

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task A_client_that_answers_pings_stays_connected()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);

        // Three pings span more than two intervals: answering them is what keeps the connection.
        for (int i = 0; i < 3; i++)
        {
            var ping = await Eventually.CompletesAsync(_server.Time!, client.ReceiveFrameAsync(), $"ping {i + 1}", Step);
            Assert.That(ping.Opcode, Is.EqualTo(Opcodes.Ping), $"ping {i + 1}: {ping}");
            await client.SendRawAsync(ClientFrame.Pong(ping.Payload));
        }

        await client.SendRawAsync(ClientFrame.Text("still here"u8));
        var next = await NextNonPingAsync(client);
        Assert.That((next.Opcode, next.Text), Is.EqualTo((Opcodes.Text, "still here")), next.ToString());
    }

    [Test]
    public async Task A_silent_client_is_closed()
    {
        await using var client = await RawWebSocketClient.OpenAsync(_server.EndPoint);

        // Never answer: the pings go unanswered until the server gives up with a close.
        var close = await Eventually.CompletesAsync(_server.Time!, NextNonPingAsync(client), "the idle close", Step);

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
