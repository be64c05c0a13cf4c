using System.Text;
using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;
using static ProcessHub.Tests.Infrastructure.Bytes;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn section 7: the close handshake (RFC 6455 5.5.1, 7.1, 7.4). A close is answered with a close (the same
/// code, or empty for empty), then the server ends TCP; nothing after a close is processed; a malformed close
/// body (1 byte, over 125 bytes, a code not allowed on the wire) is 1002, a reason that is not UTF-8 is 1007.
/// </summary>
internal static class CloseCases
{
    // RFC 6455 7.4.1 and the IANA registry: codes a peer may send. 1012-1014 are registered (service restart,
    // try again later, bad gateway) and accepted too.
    private static readonly ushort[] ValidCodes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];

    // Never on the wire: 0-999 unused, 1004 reserved, 1005/1006/1015 reserved for "no code" / "abnormal" / TLS,
    // 1016-2999 reserved for future RFCs, 5000+ out of range.
    private static readonly ushort[] InvalidCodes = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

    public static IEnumerable<ConformanceCase> All()
    {
        var hello = "Hello World!"u8.ToArray();

        yield return Case("7.1.1", "echo, then a normal close")
            .Send(ClientFrame.Text(hello), "text").ExpectText(hello).CloseNormally();
        yield return Case("7.1.2", "a second close after the first is ignored")
            .Send(Concat(ClientFrame.Close(1000), ClientFrame.Close(1000)), "close, close").ExpectCloseReply(1000);
        yield return Case("7.1.3", "a ping after the close is not answered")
            .Send(Concat(ClientFrame.Close(1000), ClientFrame.Ping(hello)), "close, ping").ExpectCloseReply(1000);
        yield return Case("7.1.4", "a text after the close is not echoed")
            .Send(Concat(ClientFrame.Close(1000), ClientFrame.Text(hello)), "close, text").ExpectCloseReply(1000);
        yield return Case("7.1.4b", "frames sent after the close in separate writes are ignored")
            .Send(ClientFrame.Close(1000), "close")
            .Send(Concat(ClientFrame.Text(hello), ClientFrame.Ping(hello), ClientFrame.Text(hello)), "text, ping, text")
            .ExpectCloseReply(1000);
        yield return Case("7.1.5", "a close in the middle of a fragmented message ends it, nothing is echoed")
            .Send(Concat(ClientFrame.Text("fragment1"u8, fin: false), ClientFrame.Close(1000), ClientFrame.Continuation("fragment2"u8, fin: true)), "text FIN=0, close, continuation")
            .ExpectCloseReply(1000);
        var big = TestPayloads.Utf8Text(65536, seed: 7);
        yield return Case("7.1.6", "a 64 KiB message followed at once by a close: the echo, then the close")
            .Send(Concat(ClientFrame.Text(big), ClientFrame.Close(1000)), "text (64 KiB), close")
            .ExpectText(big).ExpectCloseReply(1000);

        yield return Case("7.3.1", "an empty close is answered with an empty close")
            .Send(ClientFrame.Close(null), "close (no body)").ExpectCloseReply(null);
        yield return Case("7.3.2", "a close with a 1-byte body is a protocol error")
            .Send(ClientFrame.Build(Opcodes.Close, [0x03]), "close (1 B)").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("7.3.3", "close 1000 without a reason")
            .Send(ClientFrame.Close(1000), "close 1000").ExpectCloseReply(1000);
        yield return Case("7.3.4", "close 1000 with a reason")
            .Send(ClientFrame.Close(1000, "Hello World!"u8), "close 1000 'Hello World!'").ExpectCloseReply(1000);
        yield return Case("7.3.5", "close 1000 with a 123-byte reason (a 125-byte body, the maximum)")
            .Send(ClientFrame.Close(1000, TestPayloads.Utf8Text(123, seed: 3)), "close (125 B)").ExpectCloseReply(1000);
        yield return Case("7.3.5b", "the same in 1-byte writes")
            .Send(ClientFrame.Close(1000, TestPayloads.Utf8Text(123, seed: 3)), "close (125 B)", chop: 1).ExpectCloseReply(1000);
        yield return Case("7.3.6", "a close with a 126-byte body is a protocol error")
            .Send(ClientFrame.Close(1000, Encoding.UTF8.GetBytes(new string('*', 124))), "close (126 B)").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("7.5.1", "a close reason that is not UTF-8 is invalid payload")
            .Send(ClientFrame.Close(1000, Utf8Samples.Hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")), "close 1000 with a surrogate in the reason")
            .ExpectFailure(CloseCodes.InvalidPayload);
        yield return Case("7.5.2", "a close reason cut inside a code point is invalid payload")
            .Send(ClientFrame.Close(1000, Utf8Samples.Hex("61 e2 82")), "close 1000 with a truncated reason")
            .ExpectFailure(CloseCodes.InvalidPayload);

        foreach (var code in ValidCodes)
        {
            yield return Case($"7.7/{code}", $"close {code} is echoed")
                .Send(ClientFrame.Close(code, "reason"u8), $"close {code}").ExpectCloseReply(code);
        }
        foreach (var code in InvalidCodes)
        {
            yield return Case($"7.9/{code}", $"close {code} (not allowed on the wire) is a protocol error")
                .Send(ClientFrame.Close(code), $"close {code}").ExpectFailure(CloseCodes.ProtocolError);
        }
    }
}
