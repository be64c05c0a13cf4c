using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ServerPolicies;

/// <summary>
/// docs/protocol.md section 5: past the connection limit a new WebSocket is closed with 1013 (try again later). The
/// upgrade completes first, so that a browser can read the code.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ConnectionLimitTests
{
    [Test]
    public async Task Connection_past_the_limit_is_closed_with_1013()
    {
        await using var server = TestServer.Start(TestServer.DefaultOptions with { MaxConnections = 2 });
        await using var first = await RawWebSocketClient.OpenAsync(server.EndPoint);
        await using var second = await RawWebSocketClient.OpenAsync(server.EndPoint);
        // A pong proves each connection is counted: the engine answers it from the connection's own loop.
        await ExpectPongAsync(first);
        await ExpectPongAsync(second);

        await using var third = await RawWebSocketClient.OpenAsync(server.EndPoint);
        var close = await third.ReceiveFrameAsync();

        Assert.That(close.CloseCode, Is.EqualTo((ushort)1013), close.ToString());
        await third.AnswerCloseAsync(close);
        await third.ExpectClosedAsync();
        // The two within the limit are untouched.
        await ExpectPongAsync(first);
        await ExpectPongAsync(second);
    }

    private static async Task ExpectPongAsync(RawWebSocketClient client)
    {
        await client.SendRawAsync(ClientFrame.Ping("count me"u8));
        var pong = await client.ReceiveFrameAsync();
        Assert.That((pong.Opcode, pong.Text), Is.EqualTo((Opcodes.Pong, "count me")), pong.ToString());
    }
}
