namespace ProcessHub.Storage;

/// <summary>
/// Where a start puts the payloads it reads: copied back to back into 1-MiB arrays, each event a slice of one. A
/// million payloads as a million arrays (with a frame object each) were most of a restart's time, spent allocating,
/// promoting them through the GC's generations and faulting in the memory they grew into; a few hundred large arrays
/// are allocated once and never moved.
/// </summary>
/// <remarks>
/// An array lives as long as any event sliced from it is retained, so after a restart the payloads' memory is given
/// back as processes' histories move on and ended processes are removed, not event by event.
/// </remarks>
internal sealed class PayloadArena
{
    private const int ChunkBytes = 1 << 20;

    // A payload larger than this gets an array of its own, so that a chunk is never mostly wasted.
    private const int LargestShared = ChunkBytes / 16;

    private byte[] _chunk = [];
    private int _used;

    /// <summary>A copy of <paramref name="payload"/>, owned by the arena's memory.</summary>
    public ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > LargestShared)
        {
            return payload.ToArray();
        }
        if (_chunk.Length - _used < payload.Length)
        {
            // Not zeroed: every byte handed out is written first.
            _chunk = GC.AllocateUninitializedArray<byte>(ChunkBytes);
            _used = 0;
        }
        payload.CopyTo(_chunk.AsSpan(_used));
        var slice = new ReadOnlyMemory<byte>(_chunk, _used, payload.Length);
        _used += payload.Length;
        return slice;
    }
}
