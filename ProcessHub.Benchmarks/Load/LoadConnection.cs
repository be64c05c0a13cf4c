using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// One WebSocket client on a raw socket: a hand-written upgrade, then a receive loop over one fixed buffer with a
/// frame reader that only counts <c>process_progress</c> text frames and reads the two numbers it needs from them
/// (<c>"current":</c>, the event index, and <c>"ts":</c>, the send timestamp). Nothing is allocated per frame.
/// </summary>
internal sealed class LoadConnection : IDisposable
{
    private static readonly byte[] ProgressPrefix = "{\"type\":\"process_progress\""u8.ToArray();
    private static readonly byte[] ListPrefix = "{\"type\":\"process_list\""u8.ToArray();
    private static readonly byte[] CurrentKey = "\"current\":"u8.ToArray();
    private static readonly byte[] TsKey = "\"ts\":"u8.ToArray();
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly Fleet _fleet;
    private readonly Socket _socket;
    private readonly byte[] _buffer;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _skip;
    private long _lastIndex = -1;
    private long _doneTarget = -1;

    public LoadConnection(Fleet fleet, int bufferSize)
    {
        _fleet = fleet;
        _buffer = new byte[bufferSize];
        _socket = new Socket(fleet.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    }

    public async Task OpenAsync(CancellationToken cancel)
    {
        await _socket.ConnectAsync(_fleet.EndPoint, cancel).ConfigureAwait(false);
        await _socket.SendAsync(UpgradeRequest(_fleet.UpgradePath, _fleet.EndPoint), SocketFlags.None, cancel).ConfigureAwait(false);
        int end = 0;
        int headEnd;
        while (true)
        {
            int n = await _socket.ReceiveAsync(_buffer.AsMemory(end), SocketFlags.None, cancel).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("the server closed during the upgrade");
            }
            end += n;
            headEnd = _buffer.AsSpan(0, end).IndexOf(HeadEnd);
            if (headEnd >= 0)
            {
                break;
            }
            if (end == _buffer.Length)
            {
                throw new IOException("upgrade response too large");
            }
        }
        if (!_buffer.AsSpan(0, 12).SequenceEqual("HTTP/1.1 101"u8))
        {
            throw new IOException("upgrade refused: " + Encoding.ASCII.GetString(_buffer, 0, Math.Min(end, 80)));
        }
        int leftover = end - headEnd - 4;
        Buffer.BlockCopy(_buffer, headEnd + 4, _buffer, 0, leftover);
        if (!_fleet.ExpectWelcome)
        {
            _ready.TrySetResult();
        }
        _ = ReceiveLoopAsync(leftover);
        await _ready.Task.WaitAsync(cancel).ConfigureAwait(false);
    }

    /// <summary>The client's upgrade request for <paramref name="path"/> (e.g. /ws?token=...), ASCII.</summary>
    public static byte[] UpgradeRequest(string path, System.Net.IPEndPoint endPoint) => Encoding.ASCII.GetBytes(
        $"GET {path} HTTP/1.1\r\nHost: {endPoint}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");

    internal void CheckTarget(long target, long now)
    {
        if (Volatile.Read(ref _lastIndex) >= target && _doneTarget != target)
        {
            _doneTarget = target;
            _fleet.MarkDone(now);
        }
    }

    private async Task ReceiveLoopAsync(int end)
    {
        var buffer = _buffer;
        int start = 0;
        try
        {
            while (true)
            {
                if (end > start)
                {
                    start = Parse(start, end, MonotonicClock.Now);
                    if (start < 0)
                    {
                        return; // close frame
                    }
                    if (start == end)
                    {
                        start = end = 0;
                    }
                    else if (start > 0 && end == buffer.Length)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                }
                int n = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }
                end += n;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Closed by us at the end of a scenario, or by the server.
        }
        finally
        {
            Interlocked.Increment(ref _fleet.Closed);
            _ready.TrySetException(new IOException("closed before the welcome message"));
        }
    }

    /// <summary>Reads whole frames from [start, end); returns where the first incomplete one begins, -1 on close.</summary>
    private int Parse(int pos, int end, long now)
    {
        var buffer = _buffer;
        long frames = 0;
        if (_skip > 0)
        {
            int take = (int)Math.Min(_skip, end - pos);
            _skip -= take;
            pos += take;
        }
        while (end - pos >= 2)
        {
            byte b0 = buffer[pos];
            byte b1 = buffer[pos + 1];
            long length = b1 & 0x7F;
            int header = 2;
            if (length == 126)
            {
                if (end - pos < 4)
                {
                    break;
                }
                length = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(pos + 2));
                header = 4;
            }
            else if (length == 127)
            {
                if (end - pos < 10)
                {
                    break;
                }
                length = BinaryPrimitives.ReadInt64BigEndian(buffer.AsSpan(pos + 2));
                header = 10;
            }
            int opcode = b0 & 0x0F;
            if (pos + header + length > end)
            {
                if (header + length <= buffer.Length)
                {
                    break; // wait for the rest
                }
                // Larger than the buffer (never a progress event): count nothing, skip its payload.
                _skip = header + length - (end - pos);
                pos = end;
                break;
            }
            var payload = buffer.AsSpan(pos + header, (int)length);
            pos += header + (int)length;
            if (opcode == 1)
            {
                if (payload.StartsWith(ProgressPrefix))
                {
                    frames++;
                    OnProgress(payload, now);
                }
                else if (payload.StartsWith(ListPrefix))
                {
                    _ready.TrySetResult();
                }
            }
            else if (opcode == 8)
            {
                _fleet.AddDelivered(frames);
                return -1;
            }
        }
        if (frames > 0)
        {
            _fleet.AddDelivered(frames);
        }
        return pos;
    }

    private void OnProgress(ReadOnlySpan<byte> payload, long now)
    {
        long index = ReadNumber(payload, CurrentKey);
        if (index > _lastIndex)
        {
            Volatile.Write(ref _lastIndex, index);
        }
        long target = _fleet.Target;
        if (index >= target && _doneTarget != target)
        {
            _doneTarget = target;
            _fleet.MarkDone(now);
        }
        long ts = ReadNumber(payload, TsKey);
        if (ts >= _fleet.RecordFromTs)
        {
            _fleet.Latency.Record(now - ts);
            _fleet.Timeline?.Record(index, now - ts);
        }
    }

    private static long ReadNumber(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> key)
    {
        int at = payload.IndexOf(key);
        if (at < 0)
        {
            return -1;
        }
        return Utf8Parser.TryParse(payload[(at + key.Length)..], out long value, out _) ? value : -1;
    }

    public void Dispose()
    {
        try
        {
            // RST rather than FIN + TIME_WAIT: tens of thousands of connections are opened per run.
            _socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }
}
