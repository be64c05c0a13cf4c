using ProcessHub.WebSockets;

namespace ProcessHub.Benchmarks.WebSockets;

/// <summary>Keeps a copy of the last text message; used only to check a benchmark's input, never measured.</summary>
internal sealed class CapturingSink : IFrameSink
{
    public byte[]? LastText { get; private set; }

    public void OnTextMessage(ReadOnlySpan<byte> utf8) => LastText = utf8.ToArray();

    public void OnPing(ReadOnlySpan<byte> payload)
    {
    }

    public void OnPong(ReadOnlySpan<byte> payload)
    {
    }

    public void OnClose(ushort? code, ReadOnlySpan<byte> reason)
    {
    }
}
