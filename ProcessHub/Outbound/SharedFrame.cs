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
    private const int KeptBufferLimit = 16 * 1024;
    private static readonly ConcurrentQueue<SharedFrame> Pool = new();

    private byte[] _buffer = [];
    private int _written;      // payload bytes written after the header reserve
    private int _frameStart;   // where the header begins once sealed
    private int _references;

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

    /// <summary>Takes an empty frame from the pool holding one reference, the caller's.</summary>
    public static SharedFrame Rent(FrameKind kind = FrameKind.Essential, long coalesceKey = 0)
    {
        if (!Pool.TryDequeue(out var frame))
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
            // Pooled frames keep modest buffers (the common event is a few hundred bytes); big ones go back.
            if (_buffer.Length > KeptBufferLimit)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
            Pool.Enqueue(this);
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
