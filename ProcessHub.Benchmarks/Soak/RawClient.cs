using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// A WebSocket client on a bare socket for the soak's hostile clients: it sends whatever bytes it is given (half a
/// frame, an unmasked frame, garbage), reads frames exactly as the hub sent them, and can end with a reset (RST)
/// instead of a close.
/// </summary>
internal sealed class RawClient : IDisposable
{
    private static readonly byte[] EndOfHead = "\r\n\r\n"u8.ToArray();
    private readonly Socket _socket;
    private readonly IPEndPoint _endPoint;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private RawClient(Socket socket, IPEndPoint endPoint)
    {
        _socket = socket;
        _endPoint = endPoint;
    }

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellation, int? receiveBufferSize = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is int size)
        {
            socket.ReceiveBufferSize = size;
        }
        try
        {
            await socket.ConnectAsync(endPoint, cancellation).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawClient(socket, endPoint);
    }

    public static string UpgradeRequest(IPEndPoint endPoint, string path) =>
        $"GET {path} HTTP/1.1\r\nHost: {endPoint}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    /// <summary>Sends the upgrade for <paramref name="path"/> and returns the status of the answer (101 when it opened).</summary>
    public async Task<int> UpgradeAsync(string path, CancellationToken cancellation)
    {
        await SendAsync(Encoding.ASCII.GetBytes(UpgradeRequest(_endPoint, path)), cancellation).ConfigureAwait(false);
        return await ReadStatusAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>Reads an HTTP response head and returns its status (the body, if any, stays unread).</summary>
    public async Task<int> ReadStatusAsync(CancellationToken cancellation)
    {
        int headEnd;
        while ((headEnd = _buffer.AsSpan(_start, _end - _start).IndexOf(EndOfHead)) < 0)
        {
            if (!await FillAsync(cancellation).ConfigureAwait(false))
            {
                return 0;
            }
        }
        string statusLine = Encoding.ASCII.GetString(_buffer, _start, Math.Min(headEnd, 64));
        _start += headEnd + EndOfHead.Length;
        return statusLine.Length >= 12 && int.TryParse(statusLine.AsSpan(9, 3), out int status) ? status : 0;
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellation)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await _socket.SendAsync(bytes, SocketFlags.None, cancellation).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }

    /// <summary>The next frame (opcode and unmasked payload), or null when the hub ended the connection.</summary>
    public async Task<(byte Opcode, byte[] Payload)?> ReadFrameAsync(CancellationToken cancellation)
    {
        try
        {
            if (!await EnsureAsync(2, cancellation).ConfigureAwait(false))
            {
                return null;
            }
            int lengthCode = _buffer[_start + 1] & 0x7F;
            int header = 2 + lengthCode switch { 126 => 2, 127 => 8, _ => 0 };
            if (!await EnsureAsync(header, cancellation).ConfigureAwait(false))
            {
                return null;
            }
            long length = lengthCode switch
            {
                126 => BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2)),
                127 => (long)BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(_start + 2)),
                _ => lengthCode,
            };
            if (length > 64 * 1024 * 1024 || !await EnsureAsync(header + (int)length, cancellation).ConfigureAwait(false))
            {
                return null;
            }
            byte opcode = (byte)(_buffer[_start] & 0x0F);
            var payload = _buffer.AsSpan(_start + header, (int)length).ToArray();
            _start += header + (int)length;
            return (opcode, payload);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>Reads frames until a close frame; returns its code (null when the connection ended without one).</summary>
    public async Task<(ushort? Code, string Reason, List<(byte Opcode, byte[] Payload)> Before)> ReadUntilCloseAsync(CancellationToken cancellation)
    {
        var before = new List<(byte, byte[])>();
        while (await ReadFrameAsync(cancellation).ConfigureAwait(false) is { } frame)
        {
            if (frame.Opcode == 0x8)
            {
                ushort? code = frame.Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(frame.Payload) : null;
                string reason = frame.Payload.Length > 2 ? Encoding.UTF8.GetString(frame.Payload, 2, frame.Payload.Length - 2) : "";
                return (code, reason, before);
            }
            before.Add(frame);
        }
        return (null, "", before);
    }

    /// <summary>Ends with a TCP reset, as a killed client or a lost network does.</summary>
    public void Reset()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
            // Already gone.
        }
        _socket.Dispose();
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>A client frame (masked unless told otherwise), FIN set.</summary>
    public static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool masked = true)
    {
        int extended = payload.Length switch { <= 125 => 0, <= ushort.MaxValue => 2, _ => 8 };
        int header = 2 + extended + (masked ? 4 : 0);
        var frame = new byte[header + payload.Length];
        frame[0] = (byte)(0x80 | opcode);
        byte maskBit = masked ? (byte)0x80 : (byte)0;
        switch (extended)
        {
            case 0:
                frame[1] = (byte)(maskBit | payload.Length);
                break;
            case 2:
                frame[1] = (byte)(maskBit | 126);
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
                break;
            default:
                frame[1] = (byte)(maskBit | 127);
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
                break;
        }
        Span<byte> key = stackalloc byte[4];
        if (masked)
        {
            RandomNumberGenerator.Fill(key);
            key.CopyTo(frame.AsSpan(2 + extended));
        }
        for (int i = 0; i < payload.Length; i++)
        {
            frame[header + i] = masked ? (byte)(payload[i] ^ key[i & 3]) : payload[i];
        }
        return frame;
    }

    public static byte[] Text(string text) => Frame(0x1, Encoding.UTF8.GetBytes(text));

    private async Task<bool> EnsureAsync(int count, CancellationToken cancellation)
    {
        while (_end - _start < count)
        {
            if (!await FillAsync(cancellation).ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    private async Task<bool> FillAsync(CancellationToken cancellation)
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }
        int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellation).ConfigureAwait(false);
        _end += read;
        return read > 0;
    }
}
