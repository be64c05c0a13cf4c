using System.Security.Cryptography;
using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;
using static ProcessHub.Tests.Infrastructure.Bytes;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn sections 9 and 10 scaled to our 64 KiB message limit (docs/protocol.md section 4), plus the header rules
/// Autobahn's client cannot break: a message at the limit is echoed, one byte over is 1009 decided at the frame
/// header (before any payload is buffered), binary is 1003, an unmasked client frame and a 64-bit length with the
/// top bit set are 1002 (RFC 6455 5.1, 5.2).
/// </summary>
internal static class LimitCases
{
    private const int Limit = 64 * 1024;

    public static IEnumerable<ConformanceCase> All()
    {
        var atLimit = TestPayloads.Utf8Text(Limit, seed: 9);
        yield return Case("9.1.1s", "a 64 KiB message (the limit) in one frame is echoed")
            .Send(ClientFrame.Text(atLimit), "text (64 KiB)").ExpectText(atLimit).CloseNormally();
        yield return Case("9.1.1s/fragmented", "a 64 KiB message in 16 fragments is echoed")
            .Send(ClientFrame.Fragmented(atLimit, ClientFrame.EveryNBytes(Limit, 4096)), "text (64 KiB) in 4 KiB fragments").ExpectText(atLimit).CloseNormally();
        yield return Case("10.1.1s", "a 64 KiB message in 1300-byte fragments is echoed")
            .Send(ClientFrame.Fragmented(atLimit, ClientFrame.EveryNBytes(Limit, 1300)), "text (64 KiB) in 1300 B fragments").ExpectText(atLimit).CloseNormally();
        yield return Case("10.1.1s/chop", "the same, written in 997-byte chops")
            .Send(ClientFrame.Fragmented(atLimit, ClientFrame.EveryNBytes(Limit, 1300)), "text (64 KiB) in 1300 B fragments", chop: 997).ExpectText(atLimit).CloseNormally();

        yield return Case("9.over/header", "a frame header announcing 64 KiB + 1 is 1009 at once: no payload is sent")
            .Send(ClientFrame.MaskedHeader(Opcodes.Text, Limit + 1), "text header announcing 65537 B")
            .ExpectFailure(CloseCodes.MessageTooBig);
        yield return Case("9.over/header64", "a header announcing 2^63-1 bytes is 1009")
            .Send(ClientFrame.MaskedHeader(Opcodes.Text, long.MaxValue), "text header announcing 2^63-1 B")
            .ExpectFailure(CloseCodes.MessageTooBig);
        yield return Case("9.over/fragmented", "64 KiB in a first fragment, then a continuation announcing 1 more byte: 1009 without that byte")
            .Send(Concat(ClientFrame.Text(atLimit, fin: false), ClientFrame.MaskedHeader(Opcodes.Continuation, 1)), "text FIN=0 (64 KiB), continuation header (1 B)")
            .ExpectFailure(CloseCodes.MessageTooBig);
        yield return Case("9.over/halves", "32 KiB, then a continuation announcing 32 KiB + 1: 1009")
            .Send(Concat(ClientFrame.Text(atLimit.AsSpan(0, Limit / 2), fin: false), ClientFrame.MaskedHeader(Opcodes.Continuation, (Limit / 2) + 1)), "text FIN=0 (32 KiB), continuation header (32 KiB + 1)")
            .ExpectFailure(CloseCodes.MessageTooBig);

        yield return Case("binary", "a binary message is unsupported data")
            .Send(ClientFrame.Binary([0x00, 0x01, 0xfe, 0xff]), "binary (4 B)").ExpectFailure(CloseCodes.UnsupportedData);
        yield return Case("binary/empty", "an empty binary message is unsupported data too")
            .Send(ClientFrame.Binary([]), "binary (0 B)").ExpectFailure(CloseCodes.UnsupportedData);
        yield return Case("binary/fragment", "the first fragment of a binary message is enough for 1003")
            .Send(ClientFrame.Binary([0x01, 0x02], fin: false), "binary FIN=0").ExpectFailure(CloseCodes.UnsupportedData);
        var hello = "Hello"u8.ToArray();
        yield return Case("binary/after-echo", "a text is echoed, the binary after it is 1003")
            .Send(Concat(ClientFrame.Text(hello), ClientFrame.Binary(hello)), "text, binary").ExpectText(hello).ExpectFailure(CloseCodes.UnsupportedData);

        yield return Case("mask/text", "an unmasked text frame is a protocol error")
            .Send(ClientFrame.Build(Opcodes.Text, hello, mask: false), "unmasked text").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("mask/ping", "an unmasked ping is a protocol error, not answered")
            .Send(ClientFrame.Build(Opcodes.Ping, hello, mask: false), "unmasked ping").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("mask/close", "an unmasked close is a protocol error")
            .Send(ClientFrame.Build(Opcodes.Close, ClientFrame.ClosePayload(1000), mask: false), "unmasked close").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("mask/continuation", "an unmasked continuation after a masked first fragment is a protocol error")
            .Send(Concat(ClientFrame.Text(hello, fin: false), ClientFrame.Build(Opcodes.Continuation, hello, mask: false)), "masked text FIN=0, unmasked continuation")
            .ExpectFailure(CloseCodes.ProtocolError);

        yield return Case("length/top-bit", "a 64-bit length with the most significant bit set is a protocol error")
            .Send(ClientFrame.MaskedHeader(Opcodes.Text, 0x8000_0000_0000_0005, force64BitLength: true), "text header, length 2^63 + 5")
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("length/all-ones", "a 64-bit length of all ones is a protocol error")
            .Send(ClientFrame.MaskedHeader(Opcodes.Text, ulong.MaxValue, force64BitLength: true), "text header, length 2^64 - 1")
            .ExpectFailure(CloseCodes.ProtocolError);

        // RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length". Decided at the header.
        byte[] sixteenBitFive = [0x81, 0xfe, 0x00, 0x05, .. RandomNumberGenerator.GetBytes(4)]; // FIN, Text, MASK, 126 -> 16-bit 5
        yield return Case("length/non-minimal-16", "a length of 5 in the 16-bit form is a protocol error")
            .Send(sixteenBitFive, "text header, 16-bit length 5").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("length/non-minimal-64", "a length of 5 in the 64-bit form is a protocol error")
            .Send(ClientFrame.MaskedHeader(Opcodes.Text, 5, force64BitLength: true), "text header, 64-bit length 5").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("length/non-minimal-64-65535", "65535 (fits 16 bits) in the 64-bit form is a protocol error, not a message to echo")
            .Send(ClientFrame.MaskedHeader(Opcodes.Text, 65535, force64BitLength: true), "text header, 64-bit length 65535").ExpectFailure(CloseCodes.ProtocolError);
    }
}
