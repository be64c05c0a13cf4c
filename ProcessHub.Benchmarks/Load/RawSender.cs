using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// The calibration server: the most trivial sender there is. It accepts WebSocket upgrades and, on
/// <c>POST /blast</c> (body "first count"), writes <c>count</c> pre-built progress frames to every connection,
/// 16 frames joined into each send, so the kernel's per-send cost is paid once per 16 frames. Whatever rate the
/// load tool reads from it is the load tool's own ceiling, not a server's. Every upgrade is answered with the 101
/// and a {"type":"hello"} frame in one send, so a connection storm against it is the tool's own ceiling there too.
/// </summary>
internal sealed class RawSender
{
    private const int FramesPerSend = 16;

    /// <summary>An unmasked text frame holding {"type":"hello"}, sent after the 101 like the peers' first message.</summary>
    private static readonly byte[] Hello = [0x81, 16, .. "{\"type\":\"hello\"}"u8];
    private readonly List<Socket> _sockets = [];
    private readonly Lock _gate = new();

    public static async Task<int> RunAsync(int port, CancellationToken stop)
    {
        var sender = new RawSender();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(4096);
        Console.WriteLine($"raw sender listening on 127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}");
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var socket = await listener.AcceptAsync(stop).ConfigureAwait(false);
                socket.NoDelay = true;
                _ = sender.ServeAsync(socket);
            }
        }
        catch (OperationCanceledException)
        {
        }
        return 0;
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[8192];
        int end = 0;
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                end += n;
                int headEnd = buffer.AsSpan(0, end).IndexOf("\r\n\r\n"u8);
                if (headEnd < 0)
                {
                    continue;
                }
                string head = Encoding.ASCII.GetString(buffer, 0, headEnd);
                if (head.StartsWith("GET /ws", StringComparison.Ordinal))
                {
                    await UpgradeAsync(socket, head).ConfigureAwait(false);
                    return; // the socket now belongs to the blast list; nothing more is read from it
                }
                int length = ContentLength(head);
                while (end - headEnd - 4 < length)
                {
                    end += await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                }
                string body = Encoding.ASCII.GetString(buffer, headEnd + 4, length);
                if (head.StartsWith("POST /blast", StringComparison.Ordinal))
                {
                    var parts = body.Split(' ');
                    await BlastAsync(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
                }
                else if (head.StartsWith("POST /close", StringComparison.Ordinal))
                {
                    CloseAll();
                }
                await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), SocketFlags.None).ConfigureAwait(false);
                int consumed = headEnd + 4 + length;
                Buffer.BlockCopy(buffer, consumed, buffer, 0, end - consumed);
                end -= consumed;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task UpgradeAsync(Socket socket, string head)
    {
        const string KeyHeader = "Sec-WebSocket-Key:";
        int at = head.IndexOf(KeyHeader, StringComparison.OrdinalIgnoreCase);
        string key = head[(at + KeyHeader.Length)..].Split('\r')[0].Trim();
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        // The 101 and the peers' first message, {"type":"hello"}, in one send: what the connection storm waits for.
        byte[] response = [.. Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), .. Hello];
        await socket.SendAsync(response, SocketFlags.None).ConfigureAwait(false);
        lock (_gate)
        {
            _sockets.Add(socket);
        }
    }

    private void CloseAll()
    {
        lock (_gate)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
            _sockets.Clear();
        }
    }

    /// <summary>Frames first .. first+count-1 to every connection, 16 to a send; returns when all are written.</summary>
    private async Task BlastAsync(long first, int count)
    {
        // Pre-built once per blast: every frame unmasked, its index in "current", the blast's start as "ts".
        long ts = MonotonicClock.Now;
        var batches = new List<byte[]>();
        var frame = new byte[EventBody.MaxBytes + 4];
        using (var stream = new MemoryStream())
        {
            for (int i = 0; i < count; i++)
            {
                int length = EventBody.WritePeerMessage(frame.AsSpan(4), first + i, ts);
                frame[0] = 0x81;
                if (length < 126)
                {
                    frame[1] = (byte)length;
                    stream.Write(frame, 0, 2);
                }
                else
                {
                    frame[1] = 126;
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)length);
                    stream.Write(frame, 0, 4);
                }
                stream.Write(frame, 4, length);
                if ((i + 1) % FramesPerSend == 0 || i == count - 1)
                {
                    batches.Add(stream.ToArray());
                    stream.SetLength(0);
                }
            }
        }
        Socket[] sockets;
        lock (_gate)
        {
            sockets = [.. _sockets];
        }
        var sends = new Task[sockets.Length];
        for (int s = 0; s < sockets.Length; s++)
        {
            var socket = sockets[s];
            sends[s] = Task.Run(async () =>
            {
                try
                {
                    foreach (var batch in batches)
                    {
                        await socket.SendAsync(batch, SocketFlags.None).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }
            });
        }
        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    private static int ContentLength(string head)
    {
        const string Key = "Content-Length:";
        int at = head.IndexOf(Key, StringComparison.OrdinalIgnoreCase);
        return at < 0 ? 0 : int.Parse(head[(at + Key.Length)..].Split('\r')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
