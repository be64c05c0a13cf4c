namespace ProcessHub.Fuzz.Input;

/// <summary>
/// The layout of a fuzz input for the byte-stream targets, so the fuzzer chooses where the stream is cut as well as
/// what it holds. Byte 0 is a control byte: its low 3 bits are how many chunk-size bytes follow (0-7), bits 3-4 pick
/// a target-specific variant (a limit). Then the chunk sizes, then the data. The data arrives as reads of those sizes,
/// cycling; a size of 0 is a read that brought nothing (an empty segment). No sizes, or only zeros: one read.
/// </summary>
internal readonly ref struct FuzzInput
{
    private FuzzInput(ReadOnlySpan<byte> chunkSizes, int variant, ReadOnlySpan<byte> data)
    {
        ChunkSizes = chunkSizes;
        Variant = variant;
        Data = data;
    }

    public ReadOnlySpan<byte> ChunkSizes { get; }

    /// <summary>0-3.</summary>
    public int Variant { get; }

    public ReadOnlySpan<byte> Data { get; }

    public static FuzzInput Parse(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return default;
        }
        byte control = input[0];
        int sizes = Math.Min(control & 0x07, input.Length - 1);
        return new FuzzInput(input.Slice(1, sizes), (control >> 3) & 0x03, input[(1 + sizes)..]);
    }

    /// <summary>The lengths of the reads that deliver <see cref="Data"/>; they add up to its length.</summary>
    public int[] ReadLengths()
    {
        int total = Data.Length;
        bool anyNonZero = ChunkSizes.ContainsAnyExcept((byte)0);
        if (!anyNonZero)
        {
            return [total];
        }
        var lengths = new List<int>();
        int delivered = 0;
        for (int i = 0; delivered < total; i = (i + 1) % ChunkSizes.Length)
        {
            int length = Math.Min(ChunkSizes[i], total - delivered);
            lengths.Add(length);
            delivered += length;
        }
        return [.. lengths];
    }
}
