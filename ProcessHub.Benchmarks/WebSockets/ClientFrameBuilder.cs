using System.Buffers.Binary;

namespace ProcessHub.Benchmarks.WebSockets;

/// <summary>Builds masked client frames the way a browser sends them (RFC 6455 5.2, 5.3).</summary>
public static class ClientFrameBuilder
{
    /// <summary>The masking key of the RFC's own examples (RFC 6455 5.7).</summary>
    public static ReadOnlySpan<byte> ExampleMaskKey => [0x37, 0xFA, 0x21, 0x3D];

    /// <summary>One FIN text frame: header, 16- or 64-bit extended length when needed, mask key, masked payload.</summary>
    public static byte[] MaskedText(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> maskKey)
    {
        int extended = payload.Length switch { <= 125 => 0, <= ushort.MaxValue => 2, _ => 8 };
        int headerLength = 2 + extended + 4;
        var frame = new byte[headerLength + payload.Length];
        frame[0] = 0x81; // FIN=1, RSV=0, opcode=Text(0x1)
        switch (extended)
        {
            case 0:
                frame[1] = (byte)(0x80 | payload.Length); // MASK=1, 7-bit length
                break;
            case 2:
                frame[1] = 0x80 | 126; // MASK=1, 16-bit length follows
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
                break;
            default:
                frame[1] = 0x80 | 127; // MASK=1, 64-bit length follows
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
                break;
        }
        maskKey.CopyTo(frame.AsSpan(2 + extended));
        for (int i = 0; i < payload.Length; i++)
        {
            frame[headerLength + i] = (byte)(payload[i] ^ maskKey[i & 3]);
        }
        return frame;
    }
}
