using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// Builds client frames byte by byte (RFC 6455 5.2), including the ones a real client library refuses to send:
/// any FIN/RSV/opcode, unmasked frames, a length announced without its payload, a 64-bit length with the top bit set.
/// </summary>
internal static class ClientFrame
{
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-------+-+-------------+-------------------------------+
    // |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    // |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    // |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    // +-+-+-+-+-------+-+-------------+-------------------------------+
    // |                               |  Masking-key (if MASK set)    |
    // +-------------------------------+-------------------------------+

    /// <summary>A whole frame: header, then the payload masked with a fresh random key (or unmasked).</summary>
    public static byte[] Build(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, byte rsv = 0, bool mask = true)
    {
        var key = mask ? RandomNumberGenerator.GetBytes(4) : null;
        var header = Header(opcode, (ulong)payload.Length, fin, rsv, key);
        var frame = new byte[header.Length + payload.Length];
        header.CopyTo(frame, 0);
        payload.CopyTo(frame.AsSpan(header.Length));
        if (key is not null)
        {
            // Scalar XOR on purpose: the reference the engine's vectorised unmasking is checked against.
            for (int i = 0; i < payload.Length; i++)
            {
                frame[header.Length + i] ^= key[i % 4];
            }
        }
        return frame;
    }

    /// <summary>
    /// Only a header announcing <paramref name="announcedLength"/> payload bytes, none of which follow. The length
    /// uses the shortest encoding unless <paramref name="force64BitLength"/> asks for the 8-byte form.
    /// <paramref name="maskKey"/> null means an unmasked frame.
    /// </summary>
    public static byte[] Header(byte opcode, ulong announcedLength, bool fin = true, byte rsv = 0, byte[]? maskKey = null, bool force64BitLength = false)
    {
        var header = new List<byte>(14) { (byte)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xF)) };
        byte maskBit = maskKey is null ? (byte)0 : (byte)0x80;
        Span<byte> extended = stackalloc byte[8];
        if (announcedLength <= 125 && !force64BitLength)
        {
            header.Add((byte)(maskBit | (byte)announcedLength));
        }
        else if (announcedLength <= ushort.MaxValue && !force64BitLength)
        {
            header.Add((byte)(maskBit | 126));
            BinaryPrimitives.WriteUInt16BigEndian(extended, (ushort)announcedLength);
            header.AddRange(extended[..2]);
        }
        else
        {
            header.Add((byte)(maskBit | 127));
            BinaryPrimitives.WriteUInt64BigEndian(extended, announcedLength);
            header.AddRange(extended);
        }
        if (maskKey is not null)
        {
            header.AddRange(maskKey);
        }
        return [.. header];
    }

    /// <summary>A masked header with a random key, for frames whose payload is sent separately (or never).</summary>
    public static byte[] MaskedHeader(byte opcode, ulong announcedLength, bool fin = true, bool force64BitLength = false) =>
        Header(opcode, announcedLength, fin, rsv: 0, RandomNumberGenerator.GetBytes(4), force64BitLength);

    public static byte[] Text(ReadOnlySpan<byte> utf8, bool fin = true) => Build(Opcodes.Text, utf8, fin);

    public static byte[] Text(string text, bool fin = true) => Text(Encoding.UTF8.GetBytes(text), fin);

    public static byte[] Continuation(ReadOnlySpan<byte> payload, bool fin) => Build(Opcodes.Continuation, payload, fin);

    public static byte[] Binary(ReadOnlySpan<byte> payload, bool fin = true) => Build(Opcodes.Binary, payload, fin);

    public static byte[] Ping(ReadOnlySpan<byte> payload) => Build(Opcodes.Ping, payload);

    public static byte[] Pong(ReadOnlySpan<byte> payload) => Build(Opcodes.Pong, payload);

    /// <summary>A close frame: no body when <paramref name="code"/> is null, else the 2-byte code and the raw reason bytes.</summary>
    public static byte[] Close(ushort? code, ReadOnlySpan<byte> reason = default) => Build(Opcodes.Close, ClosePayload(code, reason));

    public static byte[] ClosePayload(ushort? code, ReadOnlySpan<byte> reason = default)
    {
        if (code is null)
        {
            return [];
        }
        var payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code.Value);
        reason.CopyTo(payload.AsSpan(2));
        return payload;
    }

    /// <summary>
    /// One message as several frames: a text frame then continuations, each holding the next slice of
    /// <paramref name="payload"/> cut at <paramref name="cuts"/> (offsets into the payload, ascending).
    /// </summary>
    public static byte[] Fragmented(ReadOnlySpan<byte> payload, IReadOnlyList<int> cuts, byte firstOpcode = Opcodes.Text)
    {
        var frames = new List<byte>();
        int start = 0;
        for (int i = 0; i <= cuts.Count; i++)
        {
            int end = i < cuts.Count ? cuts[i] : payload.Length;
            bool last = i == cuts.Count;
            frames.AddRange(Build(i == 0 ? firstOpcode : Opcodes.Continuation, payload[start..end], fin: last));
            start = end;
        }
        return [.. frames];
    }

    /// <summary>Cuts every <paramref name="size"/> bytes: fragments of that size, the last one shorter.</summary>
    public static int[] EveryNBytes(int length, int size)
    {
        var cuts = new List<int>();
        for (int cut = size; cut < length; cut += size)
        {
            cuts.Add(cut);
        }
        return [.. cuts];
    }
}
