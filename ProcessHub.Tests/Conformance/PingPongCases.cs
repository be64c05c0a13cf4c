using System.Text;
using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn section 2: a ping is answered by a pong carrying the same payload (RFC 6455 5.5.2), in order, as soon
/// as it arrives; a control frame over 125 bytes is a protocol error (5.5); unsolicited pongs are ignored (5.5.3).
/// </summary>
internal static class PingPongCases
{
    public static IEnumerable<ConformanceCase> All()
    {
        var hello = Encoding.UTF8.GetBytes("Hello, world!");
        var binary = new byte[] { 0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff };
        var max = TestPayloads.Binary(125, seed: 2);
        var echo = Encoding.UTF8.GetBytes("still echoing");

        yield return Case("2.1", "ping without payload gets an empty pong")
            .Send(ClientFrame.Ping([]), "ping (0 B)").ExpectPong([]).CloseNormally();
        yield return Case("2.2", "ping with 13 bytes of text gets the same pong")
            .Send(ClientFrame.Ping(hello), "ping (13 B)").ExpectPong(hello).CloseNormally();
        yield return Case("2.3", "ping with binary payload gets the same pong")
            .Send(ClientFrame.Ping(binary), "ping (8 B binary)").ExpectPong(binary).CloseNormally();
        yield return Case("2.4", "ping with 125 bytes (the maximum) gets the same pong")
            .Send(ClientFrame.Ping(max), "ping (125 B)").ExpectPong(max).CloseNormally();
        yield return Case("2.5", "ping with 126 bytes is a protocol error")
            .Send(ClientFrame.Ping(TestPayloads.Binary(126)), "ping (126 B)").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("2.6", "ping with 125 bytes in 1-byte writes gets the same pong")
            .Send(ClientFrame.Ping(max), "ping (125 B)", chop: 1).ExpectPong(max).CloseNormally();
        yield return Case("2.7", "unsolicited empty pong is ignored")
            .Send(ClientFrame.Pong([]), "pong (0 B)")
            .Send(ClientFrame.Text(echo), "text").ExpectText(echo).CloseNormally();
        yield return Case("2.8", "unsolicited pong with payload is ignored")
            .Send(ClientFrame.Pong(Encoding.UTF8.GetBytes("unsolicited pong payload")), "pong (24 B)")
            .Send(ClientFrame.Text(echo), "text").ExpectText(echo).CloseNormally();
        yield return Case("2.9", "unsolicited pong, then a ping: only the ping is answered")
            .Send(ClientFrame.Pong(Encoding.UTF8.GetBytes("unsolicited pong payload")), "pong")
            .Send(ClientFrame.Ping(Encoding.UTF8.GetBytes("ping payload")), "ping")
            .ExpectPong(Encoding.UTF8.GetBytes("ping payload"))
            .Send(ClientFrame.Text(echo), "text").ExpectText(echo).CloseNormally();
        yield return TenPings("2.10", "10 pings in one write are answered in order", chop: 0);
        yield return TenPings("2.11", "10 pings in 1-byte writes are answered in order", chop: 1);
    }

    private static ConformanceCase TenPings(string id, string title, int chop)
    {
        var pings = new List<byte>();
        var payloads = new List<byte[]>();
        for (int i = 0; i < 10; i++)
        {
            var payload = Encoding.UTF8.GetBytes($"payload-{i}");
            payloads.Add(payload);
            pings.AddRange(ClientFrame.Ping(payload));
        }
        var builder = Case(id, title).Send([.. pings], "10 pings", chop);
        foreach (var payload in payloads)
        {
            builder.ExpectPong(payload);
        }
        return builder.CloseNormally();
    }
}
