using ProcessHub.Fuzz.Input;
using ProcessHub.WebSockets;

namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// <see cref="FrameReader.Read"/> with its UTF-8 validation over arbitrary client bytes, as a connection drives it:
/// after every read, the unconsumed bytes go back in. The same bytes arrive whole and in the fuzzer's chunks; the
/// deliveries, the final status and the error must be the same, since a frame or a code point split across reads
/// must read as if it came in one piece. The sink checks every delivery (<see cref="CheckingFrameSink"/>).
/// </summary>
internal sealed class FrameTarget : IFuzzTarget
{
    // Variant 0 is the server's limit; the small ones let short inputs reach "message too big".
    private static readonly int[] MaxMessageChoices = [64 * 1024, 16, 125, 1024];

    public string Name => "frame";

    public void Run(ReadOnlySpan<byte> input)
    {
        var fuzz = FuzzInput.Parse(input);
        byte[] data = fuzz.Data.ToArray();
        int maxMessage = MaxMessageChoices[fuzz.Variant];

        string whole = Drive(data, [data.Length], maxMessage);
        int[] reads = fuzz.ReadLengths();
        if (reads.Length > 1)
        {
            string chunked = Drive(data, reads, maxMessage);
            InvariantViolationException.Check(
                string.Equals(whole, chunked, StringComparison.Ordinal),
                $"the frames read differently in {reads.Length} reads:\nwhole:\n{whole}\nchunked:\n{chunked}");
        }
    }

    private static string Drive(byte[] data, int[] readLengths, int maxMessage)
    {
        var reader = new FrameReader(maxMessage);
        var sink = new CheckingFrameSink(maxMessage);
        int consumed = 0;
        try
        {
            for (int read = 0; read < readLengths.Length; read++)
            {
                var buffer = ReadSequence.Create(data, readLengths, read + 1, consumed);
                long before = buffer.Length;
                var status = reader.Read(ref buffer, sink, out var error);
                long taken = before - buffer.Length;
                InvariantViolationException.Check(taken >= 0 && taken <= before, $"consumed {taken} of {before} bytes");
                consumed += (int)taken;
                switch (status)
                {
                    case FrameReadStatus.NeedMoreData:
                        InvariantViolationException.Check(error == FrameError.None, $"'need more data' with the error {error}");
                        break;
                    case FrameReadStatus.CloseReceived:
                        InvariantViolationException.Check(error == FrameError.None, $"a close with the error {error}");
                        return sink.Events.Append("closed").ToString();
                    case FrameReadStatus.Error:
                        InvariantViolationException.Check(error != FrameError.None && Enum.IsDefined(error), $"an error status with the error {error}");
                        InvariantViolationException.Check(!reader.HasPartialMessage, "a failed reader still holds a message");
                        return sink.Events.Append("error ").Append(error).ToString();
                    default:
                        throw new InvariantViolationException($"the status {status}");
                }
            }
            return sink.Events.Append("need more data, partial message: ").Append(reader.HasPartialMessage).ToString();
        }
        finally
        {
            reader.Reset();
        }
    }
}
