using System.Net.WebSockets;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Interop;

/// <summary>
/// .NET's own client (System.Net.WebSockets.ClientWebSocket, a strict RFC 6455 implementation) against the
/// engine: 1,000 echoes verified byte for byte, some sent as fragmented messages, then a clean 1000 close that
/// both sides record.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ClientWebSocketInteropTests
{
    [Test]
    public async Task Thousand_messages_echo_intact_and_the_close_is_clean()
    {
        await using var server = TestServer.Start();
        using var timeout = new CancellationTokenSource(TestTimeouts.Process);
        using var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.Zero; // only the frames this test sends

        await client.ConnectAsync(server.WebSocketUri, timeout.Token);
        var receiveBuffer = new byte[128 * 1024];
        for (int i = 0; i < InteropMessages.Count; i++)
        {
            var message = InteropMessages.Message(i);
            await SendAsync(client, message, fragmented: i % 7 == 3, timeout.Token);
            var (type, echo) = await ReceiveMessageAsync(client, receiveBuffer, timeout.Token);
            Assert.That(type, Is.EqualTo(WebSocketMessageType.Text), $"message {i}");
            AssertBytes.Equal(message, echo.Span, $"echo of message {i}");
        }

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(client.State, Is.EqualTo(WebSocketState.Closed));
            Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure), "the server echoes the client's code");
        }
        var closed = await server.Handler.Closed.ReadAsync(timeout.Token);
        Assert.That(closed.CloseStatus, Is.EqualTo(CloseCodes.Normal), "the server recorded a normal close");
    }

    private static async Task SendAsync(ClientWebSocket client, byte[] message, bool fragmented, CancellationToken cancel)
    {
        if (!fragmented || message.Length < 3)
        {
            await client.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancel);
            return;
        }
        // Three fragments cut at arbitrary bytes, inside code points too: the server validates UTF-8 across them.
        int first = message.Length / 3;
        int second = 2 * message.Length / 3;
        await client.SendAsync(message.AsMemory(0, first), WebSocketMessageType.Text, endOfMessage: false, cancel);
        await client.SendAsync(message.AsMemory(first, second - first), WebSocketMessageType.Text, endOfMessage: false, cancel);
        await client.SendAsync(message.AsMemory(second), WebSocketMessageType.Text, endOfMessage: true, cancel);
    }

    private static async Task<(WebSocketMessageType Type, ReadOnlyMemory<byte> Message)> ReceiveMessageAsync(ClientWebSocket client, byte[] buffer, CancellationToken cancel)
    {
        int length = 0;
        while (true)
        {
            var result = await client.ReceiveAsync(buffer.AsMemory(length), cancel);
            length += result.Count;
            if (result.EndOfMessage)
            {
                return (result.MessageType, buffer.AsMemory(0, length));
            }
        }
    }
}
