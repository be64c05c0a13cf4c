using System.Text;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Unit.WebSockets;

/// <summary>Writes down what <see cref="FrameReader"/> delivers, in order, as comparable strings.</summary>
internal sealed class RecordingSink : IFrameSink
{
    public List<string> Events { get; } = [];

    public void OnTextMessage(ReadOnlySpan<byte> utf8) => Events.Add($"text:{Encoding.UTF8.GetString(utf8)}");

    public void OnPing(ReadOnlySpan<byte> payload) => Events.Add($"ping:{Convert.ToHexString(payload)}");

    public void OnPong(ReadOnlySpan<byte> payload) => Events.Add($"pong:{Convert.ToHexString(payload)}");

    public void OnClose(ushort? code, ReadOnlySpan<byte> reason) => Events.Add($"close:{code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}:{Encoding.UTF8.GetString(reason)}");
}
