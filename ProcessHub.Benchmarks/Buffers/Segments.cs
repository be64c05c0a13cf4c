using System.Buffers;

namespace ProcessHub.Benchmarks.Buffers;

/// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/>, like a pipe's reads that split a message.</summary>
public static class Segments
{
    /// <summary>Splits <paramref name="bytes"/> at <paramref name="cuts"/> (ascending offsets) into separate arrays.</summary>
    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> bytes, params int[] cuts)
    {
        Segment? first = null;
        Segment? last = null;
        int start = 0;
        foreach (int end in cuts.Append(bytes.Length))
        {
            var segment = new Segment(bytes[start..end].ToArray());
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Append(segment);
            }
            last = segment;
            start = end;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes) => Memory = bytes;

        public void Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
        }
    }
}
