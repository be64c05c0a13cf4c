using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;
using static ProcessHub.Tests.Infrastructure.Bytes;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn section 4: opcodes 0x3-0x7 (data) and 0xB-0xF (control) are reserved (RFC 6455 5.2); receiving one
/// fails the connection with 1002, and what follows it is not processed.
/// </summary>
internal static class ReservedOpcodeCases
{
    private static readonly byte[] Reserved = [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF];

    public static IEnumerable<ConformanceCase> All()
    {
        var hello = "Hello, world!"u8.ToArray();
        foreach (byte opcode in Reserved)
        {
            string section = opcode < 0x8 ? "4.1" : "4.2";
            yield return Case($"{section}/0x{opcode:X}", $"empty frame with reserved opcode 0x{opcode:X} is a protocol error")
                .Send(ClientFrame.Build(opcode, []), $"opcode 0x{opcode:X} (0 B)")
                .ExpectFailure(CloseCodes.ProtocolError);
            yield return Case($"{section}/0x{opcode:X}+payload", $"frame with reserved opcode 0x{opcode:X} and a payload is a protocol error")
                .Send(ClientFrame.Build(opcode, hello), $"opcode 0x{opcode:X} (13 B)")
                .ExpectFailure(CloseCodes.ProtocolError);
        }

        // 4.1.3 / 4.2.3: a good message first, then the reserved frame, then a ping that must go unanswered.
        foreach (byte opcode in new byte[] { 0x5, 0xD })
        {
            var sequence = Concat(ClientFrame.Text(hello), ClientFrame.Build(opcode, []), ClientFrame.Ping([]));
            yield return Case($"4.x.3/0x{opcode:X}", $"echo, then opcode 0x{opcode:X}, then ping: echo and 1002, no pong")
                .Send(sequence, $"text, opcode 0x{opcode:X}, ping")
                .ExpectText(hello)
                .ExpectFailure(CloseCodes.ProtocolError);
            yield return Case($"4.x.5/0x{opcode:X}", $"the same in 1-byte writes")
                .Send(sequence, $"text, opcode 0x{opcode:X}, ping", chop: 1)
                .ExpectText(hello)
                .ExpectFailure(CloseCodes.ProtocolError);
        }
    }
}
