using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;
using static ProcessHub.Tests.Infrastructure.Bytes;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn section 3: RSV1-3 must be 0 unless an extension defines them (RFC 6455 5.2); we negotiate none, so
/// any RSV bit fails the connection with 1002, and nothing sent after the bad frame is processed.
/// </summary>
internal static class ReservedBitsCases
{
    public static IEnumerable<ConformanceCase> All()
    {
        var hello = "Hello, world!"u8.ToArray();
        for (byte rsv = 1; rsv <= 7; rsv++)
        {
            yield return Case($"3.rsv{rsv}", $"text frame with RSV={rsv} is a protocol error")
                .Send(ClientFrame.Build(Opcodes.Text, hello, rsv: rsv), $"text with RSV={rsv}")
                .ExpectFailure(CloseCodes.ProtocolError);
        }

        // 3.2: the good message before is echoed; the ping after is never answered.
        var sequence = Concat(ClientFrame.Text(hello), ClientFrame.Build(Opcodes.Text, hello, rsv: 2), ClientFrame.Ping([]));
        yield return Case("3.2", "echo, then text with RSV=2, then ping: echo and 1002, no pong")
            .Send(sequence, "text, text RSV=2, ping")
            .ExpectText(hello)
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("3.4", "the same in 1-byte writes")
            .Send(sequence, "text, text RSV=2, ping", chop: 1)
            .ExpectText(hello)
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("3.5", "binary frame with RSV=5 is a protocol error (the header is checked first)")
            .Send(ClientFrame.Build(Opcodes.Binary, [0x00, 0xff], rsv: 5), "binary with RSV=5")
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("3.6", "ping with RSV=6 is a protocol error, not answered")
            .Send(ClientFrame.Build(Opcodes.Ping, hello, rsv: 6), "ping with RSV=6")
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("3.7", "close with RSV=7 is a protocol error")
            .Send(ClientFrame.Build(Opcodes.Close, ClientFrame.ClosePayload(1000), rsv: 7), "close with RSV=7")
            .ExpectFailure(CloseCodes.ProtocolError);
    }
}
