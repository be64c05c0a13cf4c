using System.Globalization;
using System.Text;
using System.Text.Unicode;
using ProcessHub.WebSockets;

namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// Receives what <see cref="FrameReader"/> delivers, checks each delivery against RFC 6455 and the reader's limit,
/// and writes it down so two runs over the same bytes can be compared.
/// </summary>
internal sealed class CheckingFrameSink : IFrameSink
{
    private readonly int _maxMessageBytes;

    public CheckingFrameSink(int maxMessageBytes) => _maxMessageBytes = maxMessageBytes;

    public StringBuilder Events { get; } = new();

    public void OnTextMessage(ReadOnlySpan<byte> utf8)
    {
        // RFC 6455 8.1: a text message that is not valid UTF-8 must fail the connection, never reach the hub.
        InvariantViolationException.Check(Utf8.IsValid(utf8), $"delivered a text message that is not valid UTF-8: {Convert.ToHexString(utf8)}");
        InvariantViolationException.Check(utf8.Length <= _maxMessageBytes, $"delivered a message of {utf8.Length} bytes over the limit of {_maxMessageBytes}");
        Events.Append("text ").Append(Convert.ToHexString(utf8)).Append('\n');
    }

    public void OnPing(ReadOnlySpan<byte> payload)
    {
        InvariantViolationException.Check(payload.Length <= 125, $"a ping of {payload.Length} bytes");
        Events.Append("ping ").Append(Convert.ToHexString(payload)).Append('\n');
    }

    public void OnPong(ReadOnlySpan<byte> payload)
    {
        InvariantViolationException.Check(payload.Length <= 125, $"a pong of {payload.Length} bytes");
        Events.Append("pong ").Append(Convert.ToHexString(payload)).Append('\n');
    }

    public void OnClose(ushort? code, ReadOnlySpan<byte> reason)
    {
        // RFC 6455 5.5.1 and 7.4: no body, or a code a peer may send followed by at most 123 bytes of UTF-8.
        InvariantViolationException.Check(code is not null || reason.IsEmpty, "a close without a code but with a reason");
        InvariantViolationException.Check(code is null || CloseCode.IsValidOnWire(code.Value), $"accepted the close code {code}");
        InvariantViolationException.Check(reason.Length <= 123, $"a close reason of {reason.Length} bytes");
        InvariantViolationException.Check(Utf8.IsValid(reason), "a close reason that is not valid UTF-8");
        Events.Append("close ").Append(code?.ToString(CultureInfo.InvariantCulture) ?? "-").Append(' ').Append(Convert.ToHexString(reason)).Append('\n');
    }
}
