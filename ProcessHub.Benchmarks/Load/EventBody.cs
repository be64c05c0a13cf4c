using System.Buffers.Text;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// The event every server broadcasts, about 200 bytes on the wire for all of them. ProcessHub is sent the
/// progress object and wraps it in its own process_progress message; a peer is sent the whole message, shaped
/// and sized like ProcessHub's, so every server delivers the same bytes. The load tool reads
/// <c>"current"</c> (the event's index) and <c>"ts"</c> (its scheduled send time, CLOCK_MONOTONIC ns) back.
/// </summary>
internal static class EventBody
{
    private static readonly byte[] PeerPrefix = "{\"type\":\"process_progress\",\"process_id\":\"4f1c2a9b7e3d5a60\",\"process_type\":\"load\",\"seq\":"u8.ToArray();
    private static readonly byte[] PeerMiddle = ",\"progress\":"u8.ToArray();
    private static readonly byte[] PeerSuffix = ",\"timestamp\":\"2026-11-26T08:00:00.000Z\"}"u8.ToArray();

    public const int MaxBytes = 512;

    /// <summary>{"current":i,"total":2000000000,"ts":ts,"detail":"fan-out load event"}</summary>
    public static int WriteProgress(Span<byte> destination, long index, long ts)
    {
        int at = Put(destination, "{\"current\":"u8);
        at += Number(destination[at..], index);
        at += Put(destination[at..], ",\"total\":2000000000,\"ts\":"u8);
        at += Number(destination[at..], ts);
        at += Put(destination[at..], ",\"detail\":\"fan-out load event\"}"u8);
        return at;
    }

    public static int WritePeerMessage(Span<byte> destination, long index, long ts)
    {
        int at = Put(destination, PeerPrefix);
        at += Number(destination[at..], index + 1);
        at += Put(destination[at..], PeerMiddle);
        at += WriteProgress(destination[at..], index, ts);
        at += Put(destination[at..], PeerSuffix);
        return at;
    }

    public static int Write(ServerKind kind, Span<byte> destination, long index, long ts) => kind == ServerKind.ProcessHub
        ? WriteProgress(destination, index, ts)
        : WritePeerMessage(destination, index, ts);

    private static int Put(Span<byte> destination, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination);
        return bytes.Length;
    }

    private static int Number(Span<byte> destination, long value)
    {
        Utf8Formatter.TryFormat(value, destination, out int written);
        return written;
    }
}
