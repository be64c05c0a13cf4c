using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using ProcessHub.Transport;

namespace ProcessHub.Benchmarks.Hub;

/// <summary>
/// A connection whose socket is replaced at the lowest seam: sends complete at once and only count the frames they
/// carry (a joined send holds several). Receiving never yields data, like an idle browser tab.
/// </summary>
internal sealed class CountingConnection : ITransportConnection
{
    private static long s_nextId;
    private static long s_framesSent;
    private readonly Pipe _input = new();

    public long Id { get; } = Interlocked.Increment(ref s_nextId);
    public EndPoint? RemoteEndPoint => null;
    public PipeReader Input => _input.Reader;
    public bool IsDisposed => false;

    /// <summary>Frames handed to every counting connection so far.</summary>
    public static long FramesSent => Volatile.Read(ref s_framesSent);

    public ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        // Server frames are unmasked with a 7-bit or 16-bit length for these sizes (RFC 6455 5.2).
        var span = data.Span;
        int frames = 0;
        while (!span.IsEmpty)
        {
            int length = span[1] & 0x7F;
            int header = 2;
            if (length == 126)
            {
                length = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
                header = 4;
            }
            span = span[(header + length)..];
            frames++;
        }
        Interlocked.Add(ref s_framesSent, frames);
        return ValueTask.CompletedTask;
    }

    public void ShutdownSend()
    {
    }

    public void Dispose()
    {
    }
}
