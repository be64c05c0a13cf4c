using System.Buffers;

namespace ProcessHub.Fuzz.Input;

/// <summary>
/// What a pipe hands a parser after some reads: the bytes received so far, from the first unconsumed one, as a
/// sequence with a segment boundary wherever one read ended (a read of 0 bytes is an empty segment).
/// </summary>
internal static class ReadSequence
{
    /// <param name="data">Everything that will arrive.</param>
    /// <param name="readLengths">The length of each read.</param>
    /// <param name="reads">How many reads have arrived.</param>
    /// <param name="consumed">Bytes the parser already consumed from the start.</param>
    public static ReadOnlySequence<byte> Create(byte[] data, int[] readLengths, int reads, int consumed)
    {
        Segment? first = null;
        Segment? last = null;
        int offset = 0;
        for (int read = 0; read < reads; read++)
        {
            int start = offset;
            int end = offset + readLengths[read];
            offset = end;
            if (end < consumed || (end == consumed && readLengths[read] > 0))
            {
                continue; // wholly consumed
            }
            var memory = data.AsMemory(Math.Max(start, consumed), end - Math.Max(start, consumed));
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }
        return first is null || last is null
            ? ReadOnlySequence<byte>.Empty
            : new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
