using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace ProcessHub.WebSockets;

/// <summary>RFC 6455 5.3: client payloads are XORed with a 4-byte key, cycling from the first payload byte.</summary>
internal static class Masking
{
    /// <summary>
    /// Unmasks <paramref name="data"/> in place. <paramref name="offset"/> is how many payload bytes of this frame
    /// came before, so a frame arriving in pieces keeps its place in the key. Returns the offset after <paramref name="data"/>.
    /// </summary>
    public static int Apply(Span<byte> data, uint maskKey, int offset)
    {
        // The key as it reads from byte `offset` on, rotated so a whole-word XOR lines up with data[0].
        // maskKey holds the key bytes in wire order in memory (little-endian load of the 4 wire bytes).
        int shift = (offset & 3) * 8;
        uint rotated = shift == 0 ? maskKey : BitOperations.RotateRight(maskKey, shift);

        int i = 0;
        if (Vector.IsHardwareAccelerated && data.Length >= Vector<byte>.Count)
        {
            // One key-filled vector, then a whole vector of payload per XOR.
            var keyVector = Vector.AsVectorByte(new Vector<uint>(rotated));
            var vectors = MemoryMarshal.Cast<byte, Vector<byte>>(data);
            for (int v = 0; v < vectors.Length; v++)
            {
                vectors[v] ^= keyVector;
            }
            i = vectors.Length * Vector<byte>.Count;
        }

        var words = MemoryMarshal.Cast<byte, uint>(data[i..]);
        for (int w = 0; w < words.Length; w++)
        {
            words[w] ^= rotated;
        }
        i += words.Length * 4;

        for (int k = 0; i < data.Length; i++, k++)
        {
            data[i] ^= (byte)(rotated >> (k * 8));
        }
        return (offset + data.Length) & 3;
    }

    /// <summary>Reads the 4 wire bytes of a key into the form <see cref="Apply"/> expects.</summary>
    public static uint ReadKey(ReadOnlySpan<byte> keyBytes) => BinaryPrimitives.ReadUInt32LittleEndian(keyBytes);
}
