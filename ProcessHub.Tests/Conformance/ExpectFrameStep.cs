using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// The next server frame must be exactly this one: a single unmasked FIN frame with no RSV bits (RFC 6455 5.1:
/// a server never masks; 5.2: no extension was negotiated), with this opcode and this payload byte for byte.
/// </summary>
internal sealed record ExpectFrameStep(byte Opcode, byte[] Payload) : CaseStep
{
    public override async Task RunAsync(RawWebSocketClient client)
    {
        var frame = await client.ReceiveFrameAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.Opcode, Is.EqualTo(Opcode), $"expected a {Opcodes.Name(Opcode)} frame, got: {frame}");
            Assert.That(frame.Fin, Is.True, $"server frames are unfragmented: {frame}");
            Assert.That(frame.Rsv, Is.Zero, $"no extension was negotiated: {frame}");
            Assert.That(frame.Masked, Is.False, $"a server must not mask (RFC 6455 5.1): {frame}");
        }
        AssertBytes.Equal(Payload, frame.Payload, $"the {Opcodes.Name(Opcode)} payload");
    }

    public override string ToString() => $"expect {Opcodes.Name(Opcode)} of {Payload.Length} bytes";
}
