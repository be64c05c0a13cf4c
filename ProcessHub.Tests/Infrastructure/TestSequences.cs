using System.Buffers;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// Multi-segment sequences for parser tests. Every segment is a separate array, so a parser that reads across a
/// boundary through <c>FirstSpan</c> alone, or assumes contiguous memory, reads the wrong bytes and fails.
/// </summary>
internal static class TestSequences
{
    public static ReadOnlySequence<byte> Create(params byte[][] segments)
    {
        if (segments.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        var first = new BufferSegment(segments[0].ToArray());
        var last = first;
        foreach (var segment in segments.Skip(1))
        {
            last = last.Append(segment.ToArray());
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary><paramref name="bytes"/> cut at the given offsets (ascending; 0 or the length give an empty segment).</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, params int[] offsets)
    {
        var segments = new List<byte[]>();
        int start = 0;
        foreach (int offset in offsets)
        {
            segments.Add(bytes[start..offset]);
            start = offset;
        }
        segments.Add(bytes[start..]);
        return Create([.. segments]);
    }

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes) =>
        Create([.. bytes.Select(b => new[] { b })]);
}
