using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using ProcessHub.WebSockets;

namespace ProcessHub.Outbound;

/// <summary>
/// One server frame, serialized and framed once, shared by every connection that sends it.
/// The payload is written first (through <see cref="IBufferWriter{T}"/>, e.g. by a Utf8JsonWriter) after room
/// reserved for the longest header; <see cref="Seal"/> then writes the header right in front of it.
/// Reference-counted: each queue holding it owns one reference, and the pooled buffer goes back to the pool
/// when the last one is released.
/// </summary>
public sealed class SharedFrame : IBufferWriter<byte>
{
    private const int InitialCapacity = 512;

    /// <summary>
    /// The largest buffer a pooled frame keeps. A pooled frame is reused for whatever is written next, mostly an event of
    /// a few hundred bytes that then sits in a process's history for the retention window: with 16 KiB kept, the buffers
    /// of past process lists and large progress events drifted into the history of small events, so the history's
    /// memory grew for as long as the pool kept cycling (issue 13, item 11: a soak's heap grew 40 MB in two minutes at
    /// a constant number of processes). Anything larger goes back to the shared array pool.
    /// </summary>
    internal const int KeptBufferLimit = 1024;

    /// <summary>
    /// Most frames the pool keeps. Unbounded, it grew to the largest number of frames ever in flight and kept them for
    /// the life of the process: a storm of resumes (a replay copies its progress frames, one per event per tab) or of
    /// slow consumers left tens of thousands of frames and their buffers pooled for good (issue 13, item 11). In-flight
    /// frames at a high publish rate number in the hundreds; past the cap a released frame is left to the GC and its
    /// buffer goes back to the shared array pool, which bounds itself.
    /// </summary>
    internal const int MaxPooled = 1024;

    private static readonly ConcurrentQueue<SharedFrame> Pool = new();
    private static int s_pooled;

    private byte[] _buffer = [];
    private int _written;      // payload bytes written after the header reserve
    private int _frameStart;   // where the header begins once sealed
    private int _references;
    private bool _exact;       // the buffer was allocated to size to be kept, not rented: never given to the array pool

    private SharedFrame()
    {
    }

    /// <summary>The slow-consumer class of this frame.</summary>
    public FrameKind Kind { get; private set; }

    /// <summary>Frames of kind Progress with equal keys (one process) coalesce to the newest.</summary>
    public long CoalesceKey { get; private set; }

    /// <summary>The whole frame, header and payload, ready for the socket.</summary>
    public ReadOnlyMemory<byte> Frame => _buffer.AsMemory(_frameStart, FrameHeaderWriter.MaxHeaderLength - _frameStart + _written);

    /// <summary>The payload only (the message text).</summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(FrameHeaderWriter.MaxHeaderLength, _written);

    public int Length => FrameHeaderWriter.MaxHeaderLength - _frameStart + _written;

    /// <summary>The size of the buffer this frame holds (for tests of what the pool keeps).</summary>
    internal int BufferCapacity => _buffer.Length;

    /// <summary>Frames waiting in the pool now (at most <see cref="MaxPooled"/>).</summary>
    internal static int PooledCount => Volatile.Read(ref s_pooled);

    /// <summary>Takes an empty frame from the pool holding one reference, the caller's.</summary>
    public static SharedFrame Rent(FrameKind kind = FrameKind.Essential, long coalesceKey = 0)
    {
        if (Pool.TryDequeue(out var frame))
        {
            Interlocked.Decrement(ref s_pooled);
        }
        else
        {
            frame = new SharedFrame();
        }
        frame.Kind = kind;
        frame.CoalesceKey = coalesceKey;
        frame._written = 0;
        frame._frameStart = FrameHeaderWriter.MaxHeaderLength;
        frame._references = 1;
        return frame;
    }

    /// <summary>A text frame holding a copy of <paramref name="utf8"/>.</summary>
    public static SharedFrame CreateText(ReadOnlySpan<byte> utf8, FrameKind kind = FrameKind.Essential, long coalesceKey = 0) =>
        Create(Opcode.Text, utf8, kind, coalesceKey);

    internal static SharedFrame Create(Opcode opcode, ReadOnlySpan<byte> payload, FrameKind kind, long coalesceKey = 0)
    {
        var frame = Rent(kind, coalesceKey);
        // The size is known: no room for growth (a restored history holds a million of these).
        frame.EnsureCapacity(payload.Length, minimum: 0);
        payload.CopyTo(frame.GetSpan(payload.Length));
        frame.Advance(payload.Length);
        frame.Seal(opcode);
        return frame;
    }

    /// <summary>
    /// A text frame holding a copy of <paramref name="utf8"/> in a buffer of exactly its size, for a frame that is kept
    /// rather than sent and released (a restored history event): a rented buffer rounds up to a power of two.
    /// </summary>
    internal static SharedFrame CreateKeptText(ReadOnlySpan<byte> utf8, FrameKind kind, long coalesceKey)
    {
        var buffer = new byte[FrameHeaderWriter.MaxHeaderLength + utf8.Length];
        utf8.CopyTo(buffer.AsSpan(FrameHeaderWriter.MaxHeaderLength));
        return Exact(buffer, utf8.Length, FrameHeaderWriter.WriteBefore(buffer, FrameHeaderWriter.MaxHeaderLength, Opcode.Text, utf8.Length), kind, coalesceKey);
    }

    // A frame over a buffer of its own, with one reference: not pooled, its buffer never given to the array pool.
    private static SharedFrame Exact(byte[] buffer, int written, int frameStart, FrameKind kind, long coalesceKey) => new()
    {
        _buffer = buffer,
        _written = written,
        _frameStart = frameStart,
        _references = 1,
        _exact = true,
        Kind = kind,
        CoalesceKey = coalesceKey,
    };

    /// <summary>
    /// This frame as a process's history keeps it, with a reference for the history: the frame itself when its buffer
    /// is small or mostly used, else a copy in a buffer of exactly its size. A rented buffer is a power of two, and
    /// grows by doubling while the event is written: a 4.2 KB event held 8 KB for the whole retention window, so what
    /// one owner's histories pinned was twice their events (found by a security audit). The copy is made once per
    /// such event (over 1 KiB, a quarter or more of it room), never per subscriber.
    /// </summary>
    internal SharedFrame ForHistory()
    {
        int used = FrameHeaderWriter.MaxHeaderLength + _written;
        if (_buffer.Length <= KeptBufferLimit || _buffer.Length - used < used / 4)
        {
            AddReference();
            return this;
        }
        var buffer = new byte[used];
        _buffer.AsSpan(0, used).CopyTo(buffer);
        return Exact(buffer, _written, _frameStart, Kind, CoalesceKey);
    }

    /// <summary>Writes the frame header in front of the payload. Call once, after the payload is complete.</summary>
    internal void Seal(Opcode opcode)
    {
        EnsureCapacity(0);
        _frameStart = FrameHeaderWriter.WriteBefore(_buffer, FrameHeaderWriter.MaxHeaderLength, opcode, _written);
    }

    /// <summary>Seals a text frame.</summary>
    public void SealText() => Seal(Opcode.Text);

    public void AddReference()
    {
        int after = Interlocked.Increment(ref _references);
        Debug.Assert(after > 1, "a released frame was revived");
    }

    /// <summary>Drops one reference; the last one returns the buffer and the frame to their pools.</summary>
    public void Release()
    {
        int after = Interlocked.Decrement(ref _references);
        Debug.Assert(after >= 0, "a frame was released once too often");
        if (after == 0)
        {
            if (_exact)
            {
                // Its own array, left to the GC with the frame: the array pool refuses arrays it did not hand out.
                _buffer = [];
                return;
            }
            // Pooled frames keep modest buffers (the common event is a few hundred bytes); big ones go back, and so
            // does every buffer of a frame the full pool does not take.
            bool pooled = Interlocked.Increment(ref s_pooled) <= MaxPooled;
            if (!pooled)
            {
                Interlocked.Decrement(ref s_pooled);
            }
            if (_buffer.Length > KeptBufferLimit || !pooled)
            {
                if (_buffer.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                }
                _buffer = [];
            }
            if (pooled)
            {
                Pool.Enqueue(this);
            }
        }
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsMemory(FrameHeaderWriter.MaxHeaderLength + _written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsSpan(FrameHeaderWriter.MaxHeaderLength + _written);
    }

    private void EnsureCapacity(int sizeHint, int minimum = InitialCapacity)
    {
        int needed = FrameHeaderWriter.MaxHeaderLength + _written + Math.Max(sizeHint, 1);
        if (_buffer.Length >= needed)
        {
            return;
        }
        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(minimum, _buffer.Length * 2)));
        if (_buffer.Length > 0)
        {
            _buffer.AsSpan(0, FrameHeaderWriter.MaxHeaderLength + _written).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _buffer = grown;
    }
}
