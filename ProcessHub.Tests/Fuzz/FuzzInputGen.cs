using CsCheck;

namespace ProcessHub.Tests.Fuzz;

/// <summary>Random inputs for the fuzz targets: raw bytes, and seed-corpus files with a few mutations.</summary>
internal static class FuzzInputGen
{
    // Bytes that matter to the parsers: delimiters, bounds, UTF-8 leads and continuations, JSON and frame syntax.
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xbf, 0x7e, 0x7d,
        (byte)'\r', (byte)'\n', (byte)' ', (byte)'\t', (byte)':', (byte)'?', (byte)'/', (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)'.', (byte)'-', (byte)'0'];

    public static Gen<byte[]> RawBytes(int maxLength) => Gen.Byte.Array[0, maxLength];

    /// <summary>A corpus file with 1-8 mutations: overwrite, insert, delete, duplicate a run, or an interesting byte.</summary>
    public static Gen<byte[]> Mutated(string[] corpusFiles)
    {
        byte[][] corpus = [.. corpusFiles.Select(File.ReadAllBytes)];
        return Gen.Select(Gen.Int[0, corpus.Length - 1], Gen.UInt.Array[1, 8], (index, operations) => Mutate(corpus[index], operations));
    }

    private static byte[] Mutate(byte[] original, uint[] operations)
    {
        var bytes = new List<byte>(original);
        foreach (uint operation in operations)
        {
            int position = bytes.Count == 0 ? 0 : (int)((operation >> 3) % (uint)bytes.Count);
            byte value = (byte)(operation >> 24);
            switch (operation & 7)
            {
                case 0 or 1 when bytes.Count > 0:
                    bytes[position] = value;
                    break;
                case 2:
                    bytes.Insert(position, value);
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(position, Math.Min(1 + (value & 0x0f), bytes.Count - position));
                    break;
                case 4 when bytes.Count > 0:
                    bytes.InsertRange(position, bytes.GetRange(position, Math.Min(1 + (value & 0x1f), bytes.Count - position)));
                    break;
                default:
                    bytes.Insert(position, Interesting[value % Interesting.Length]);
                    break;
            }
        }
        return [.. bytes];
    }
}
