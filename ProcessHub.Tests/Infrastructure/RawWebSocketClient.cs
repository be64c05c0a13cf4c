using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// A WebSocket client on a bare <see cref="Socket"/>, with no opinion about what is valid: it writes whatever bytes
/// a test gives it (in chops down to one byte per write), does the opening handshake by hand, and reads server
/// frames and HTTP responses exactly as they arrive. Every wait is bounded by <see cref="TestTimeouts.Receive"/>.
/// </summary>
internal sealed class RawWebSocketClient : IAsyncDisposable
{
    /// <summary>The RFC 6455 1.3 example key; its accept value is <see cref="SampleAccept"/>.</summary>
    public const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
    public const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private static readonly byte[] EndOfHead = "\r\n\r\n"u8.ToArray();
    private readonly Socket _socket;
    private readonly EndPoint _remote;

    // Bytes received but not yet consumed live in _buffer[_start.._end].
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private RawWebSocketClient(Socket socket, EndPoint remote)
    {
        _socket = socket;
        _remote = remote;
    }

    public TimeSpan Timeout { get; init; } = TestTimeouts.Receive;

    /// <summary>The value tests put in Host headers.</summary>
    public string HostHeader => _remote.ToString()!;

    public static async Task<RawWebSocketClient> ConnectAsync(IPEndPoint endPoint)
    {
        // NoDelay: a test that sends a frame in 1-byte writes means 1-byte segments, not Nagle's coalescing.
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Receive);
            await socket.ConnectAsync(endPoint, timeout.Token);
            return new RawWebSocketClient(socket, endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects and completes the opening handshake; fails unless the server answers 101.</summary>
    public static async Task<RawWebSocketClient> OpenAsync(IPEndPoint endPoint, string path = "/ws")
    {
        var client = await ConnectAsync(endPoint);
        try
        {
            var response = await client.HandshakeAsync(path);
            if (response.StatusCode != 101)
            {
                throw new InvalidOperationException($"the upgrade was refused: {response}");
            }
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>The request a well-behaved client sends to upgrade (RFC 6455 4.1), plus any extra header lines.</summary>
    public string UpgradeRequest(string path = "/ws", string key = SampleKey, params string[] extraHeaderLines)
    {
        var request = new StringBuilder();
        request.Append("GET ").Append(path).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(HostHeader).Append("\r\n");
        request.Append("Upgrade: websocket\r\n");
        request.Append("Connection: Upgrade\r\n");
        request.Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n");
        request.Append("Sec-WebSocket-Version: 13\r\n");
        foreach (var line in extraHeaderLines)
        {
            request.Append(line).Append("\r\n");
        }
        request.Append("\r\n");
        return request.ToString();
    }

    /// <summary>Sends a standard upgrade request and reads the response head (and a body, if it has one).</summary>
    public async Task<HttpResponseHead> HandshakeAsync(string path = "/ws", string key = SampleKey, params string[] extraHeaderLines)
    {
        await SendAsync(UpgradeRequest(path, key, extraHeaderLines));
        return await ReadHttpResponseAsync();
    }

    /// <summary>Sends text as Latin-1 bytes: raw HTTP, exactly as written.</summary>
    public Task SendAsync(string raw, int chop = 0) => SendAsync(Encoding.Latin1.GetBytes(raw), chop);

    /// <summary>Writes <paramref name="bytes"/>; with <paramref name="chop"/> &gt; 0 in writes of at most that many bytes.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes, int chop = 0)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        int size = chop > 0 ? chop : Math.Max(bytes.Length, 1);
        try
        {
            while (!bytes.IsEmpty)
            {
                var piece = bytes[..Math.Min(size, bytes.Length)];
                while (!piece.IsEmpty)
                {
                    int sent = await _socket.SendAsync(piece, SocketFlags.None, timeout.Token);
                    piece = piece[sent..];
                    bytes = bytes[sent..];
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"the server did not take {bytes.Length} more bytes within {Timeout.TotalSeconds} s");
        }
    }

    /// <summary>Reads one HTTP response: head, then a Content-Length body when there is one.</summary>
    public async Task<HttpResponseHead> ReadHttpResponseAsync()
    {
        int headEnd;
        while ((headEnd = Unread.IndexOf(EndOfHead)) < 0)
        {
            await ReceiveMoreAsync("an HTTP response head");
        }
        var lines = Encoding.Latin1.GetString(Unread[..headEnd]).Split("\r\n");
        _start += headEnd + EndOfHead.Length;

        var statusParts = lines[0].Split(' ', 3);
        if (statusParts.Length < 2 || !int.TryParse(statusParts[1], out int status))
        {
            throw new InvalidDataException($"not an HTTP status line: '{lines[0]}'");
        }
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"not an HTTP header line: '{line}'");
            }
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var body = Array.Empty<byte>();
        var contentLength = headers.FirstOrDefault(h => string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        if (status != 101 && contentLength is not null)
        {
            int length = int.Parse(contentLength, System.Globalization.CultureInfo.InvariantCulture);
            await EnsureAsync(length, "the response body");
            body = Unread[..length].ToArray();
            _start += length;
        }
        return new HttpResponseHead(lines[0], status, headers, body);
    }

    /// <summary>Reads the next frame the server sent (RFC 6455 5.2), whatever it is.</summary>
    public async Task<ServerFrame> ReceiveFrameAsync()
    {
        await EnsureAsync(2, "a frame");
        byte b0 = _buffer[_start];
        byte b1 = _buffer[_start + 1];
        bool masked = (b1 & 0x80) != 0;
        int lengthCode = b1 & 0x7F;
        int extended = lengthCode switch { 126 => 2, 127 => 8, _ => 0 };
        int headerLength = 2 + extended + (masked ? 4 : 0);
        await EnsureAsync(headerLength, "a frame header");

        ulong length = extended switch
        {
            2 => BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2)),
            8 => BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(_start + 2)),
            _ => (ulong)lengthCode,
        };
        if (length > 16 * 1024 * 1024)
        {
            throw new InvalidDataException($"the server announced a {length}-byte frame; no test expects one that big");
        }
        await EnsureAsync(headerLength + (int)length, "a frame payload");

        var payload = _buffer.AsSpan(_start + headerLength, (int)length).ToArray();
        if (masked)
        {
            var key = _buffer.AsSpan(_start + headerLength - 4, 4);
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] ^= key[i % 4];
            }
        }
        _start += headerLength + (int)length;
        return new ServerFrame((b0 & 0x80) != 0, (byte)((b0 >> 4) & 0x7), (byte)(b0 & 0xF), masked, payload);
    }

    /// <summary>
    /// Waits until the server ends the TCP connection (orderly FIN or reset). Anything received before that is a
    /// failure: nothing may follow a close frame (RFC 6455 5.5.1) or a final HTTP response.
    /// </summary>
    public async Task ExpectClosedAsync()
    {
        if (_end > _start)
        {
            throw new InvalidDataException($"the server sent {_end - _start} more bytes instead of ending the connection: {Convert.ToHexString(Unread[..Math.Min(64, _end - _start)])}");
        }
        using var timeout = new CancellationTokenSource(Timeout);
        var scratch = new byte[4096];
        try
        {
            int received = await _socket.ReceiveAsync(scratch, SocketFlags.None, timeout.Token);
            if (received > 0)
            {
                throw new InvalidDataException($"the server sent {received} more bytes instead of ending the connection: {Convert.ToHexString(scratch, 0, Math.Min(received, 64))}");
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            // A reset ends the connection too.
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"the server did not end the TCP connection within {Timeout.TotalSeconds} s");
        }
    }

    /// <summary>
    /// The client's half of a close the server started (RFC 6455 5.5.1): echo the code, then half-close, as a
    /// careful client does so the server need not wait for its close timer. The server may already be gone.
    /// </summary>
    public async Task AnswerCloseAsync(ServerFrame serverClose)
    {
        try
        {
            await SendAsync(ClientFrame.Close(serverClose.CloseCode));
            ShutdownSend();
        }
        catch (SocketException)
        {
            // The server closed first: nothing left to answer.
        }
    }

    /// <summary>Sends our FIN; the server sees the end of its input.</summary>
    public void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already reset by the server.
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private ReadOnlySpan<byte> Unread => _buffer.AsSpan(_start, _end - _start);

    private async Task EnsureAsync(int count, string waitingFor)
    {
        while (_end - _start < count)
        {
            await ReceiveMoreAsync(waitingFor);
        }
    }

    private async Task ReceiveMoreAsync(string waitingFor)
    {
        if (_end == _buffer.Length)
        {
            // Keep unread bytes at the front; grow only when they fill the whole buffer.
            int unread = _end - _start;
            var target = unread > _buffer.Length / 2 ? new byte[_buffer.Length * 2] : _buffer;
            Buffer.BlockCopy(_buffer, _start, target, 0, unread);
            _buffer = target;
            _start = 0;
            _end = unread;
        }
        using var timeout = new CancellationTokenSource(Timeout);
        int received;
        try
        {
            received = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"no data from the server within {Timeout.TotalSeconds} s while waiting for {waitingFor}");
        }
        if (received == 0)
        {
            throw new EndOfStreamException($"the server ended the connection while the test waited for {waitingFor}");
        }
        _end += received;
    }
}
