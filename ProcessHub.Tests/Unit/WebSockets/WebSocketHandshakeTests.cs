using System.Text;
using NUnit.Framework;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.WebSockets;

/// <summary>The handshake's two pure functions: the key check (RFC 6455 4.1 item 7) and the accept value (4.2.2).</summary>
[TestFixture]
[Category("unit")]
internal sealed class WebSocketHandshakeTests
{
    [TestCase("dGhlIHNhbXBsZSBub25jZQ==", ExpectedResult = true, TestName = "Key: the RFC example (16 bytes)")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAA==", ExpectedResult = true, TestName = "Key: 16 zero bytes")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAA=", ExpectedResult = false, TestName = "Key: 17 bytes")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAA", ExpectedResult = false, TestName = "Key: 18 bytes")]
    [TestCase("AAAAAAAAAAAAAAAAAAAA", ExpectedResult = false, TestName = "Key: 15 bytes")]
    [TestCase("dGhlIHNhbXBsZSBub25jZQ", ExpectedResult = false, TestName = "Key: padding missing")]
    [TestCase("dGhlIHNhbXBsZSBub25jZ!=", ExpectedResult = false, TestName = "Key: not base64")]
    [TestCase("", ExpectedResult = false, TestName = "Key: empty")]
    public bool Accepts_only_base64_of_16_bytes(string key) => WebSocketHandshake.IsValidKey(Encoding.ASCII.GetBytes(key));

    [Test]
    public void Computes_the_RFC_accept_value_and_the_whole_101()
    {
        var response = new byte[WebSocketHandshake.MaxAcceptResponseLength];

        int length = WebSocketHandshake.WriteAcceptResponse("dGhlIHNhbXBsZSBub25jZQ=="u8, response);

        Assert.That(Encoding.ASCII.GetString(response, 0, length), Is.EqualTo(
            "HTTP/1.1 101 Switching Protocols\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
            "\r\n"));
    }
}
