using System.Buffers.Text;
using System.Text;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Redis;

/// <summary>
/// One event as the scripts publish and log it: a header line
/// <c>{epoch} {offset} {process id} {seq} {kind} {UTC ticks} {in-process 1|0} {producer hub|-}</c>, a newline, then the
/// event's JSON exactly as clients receive it. Every hub frames that JSON once and sends the same bytes.
/// </summary>
internal readonly record struct RedisEventMessage(
    string Epoch,
    long Offset,
    string ProcessId,
    long Seq,
    HubEventKind Kind,
    DateTimeOffset At,
    bool InProcess,
    string? ProducerHub,
    ReadOnlyMemory<byte> Payload)
{
    /// <summary>Reads a message; false when it is not one (a message from an incompatible writer is skipped).</summary>
    public static bool TryParse(ReadOnlyMemory<byte> message, out RedisEventMessage parsed)
    {
        parsed = default;
        var span = message.Span;
        int newline = span.IndexOf((byte)'\n');
        if (newline < 0)
        {
            return false;
        }
        var header = span[..newline];
        Span<Range> fields = stackalloc Range[8];
        int count = 0;
        int start = 0;
        for (int i = 0; i <= header.Length && count < fields.Length; i++)
        {
            if (i == header.Length || header[i] == (byte)' ')
            {
                fields[count++] = start..i;
                start = i + 1;
            }
        }
        if (count != 8 || start <= header.Length)
        {
            return false;
        }
        // Offsets and seqs count from 1: a hub writes nothing else, and a 0 or a negative one (another program under
        // the prefix) would index the applier's window of recent offsets from the wrong end.
        if (!Utf8Parser.TryParse(header[fields[1]], out long offset, out int used) || used != header[fields[1]].Length || offset < 1
            || !Utf8Parser.TryParse(header[fields[3]], out long seq, out used) || used != header[fields[3]].Length || seq < 1
            || !Utf8Parser.TryParse(header[fields[4]], out int kind, out used) || used != header[fields[4]].Length || kind is < 0 or > 4
            || !Utf8Parser.TryParse(header[fields[5]], out long ticks, out used) || used != header[fields[5]].Length
            || ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }
        var hub = header[fields[7]];
        parsed = new RedisEventMessage(
            Encoding.ASCII.GetString(header[fields[0]]),
            offset,
            Encoding.UTF8.GetString(header[fields[2]]),
            seq,
            (HubEventKind)kind,
            new DateTimeOffset(ticks, TimeSpan.Zero),
            header[fields[6]].SequenceEqual("1"u8),
            hub.SequenceEqual("-"u8) ? null : Encoding.UTF8.GetString(hub),
            message[(newline + 1)..]);
        return true;
    }
}
