using ProcessHub.WebSockets;

namespace ProcessHub.Benchmarks.WebSockets;

/// <summary>
/// A sink that only notes the length of the last text message. A sealed class, like the server's own sink
/// (WebSocketConnection), so the reader runs the same shared generic code as in production.
/// </summary>
internal sealed class LastMessageSink : IFrameSink
{
    public int LastTextLength { get; private set; } = -1;

    public void OnTextMessage(ReadOnlySpan<byte> utf8) => LastTextLength = utf8.Length;

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
