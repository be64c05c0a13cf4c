using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// The suite's one HTTP/1.1 client, on a bare <see cref="Socket"/> with no opinion about what is valid: it writes
/// whatever bytes a test gives it (in chops down to one byte per write), and reads what the server sends exactly as
/// it arrives: a response head, a body by Content-Length or to the end of the connection, a stream block by block.
/// No redirects, retries or header rewriting behind the test's back. <see cref="RawWebSocketClient"/> and
/// <see cref="SseClient"/> read through it. Every wait is bounded by <see cref="Timeout"/>.
/// </summary>
internal sealed class RawHttpClient : IAsyncDisposable, IDisposable
{
    private static readonly byte[] EndOfHead = "\r\n\r\n"u8.ToArray();
    private readonly Socket _socket;
    private readonly EndPoint _remote;

    // Bytes received but not yet consumed live in _buffer[_start.._end].
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private RawHttpClient(Socket socket, EndPoint remote)
    {
        _socket = socket;
        _remote = remote;
    }

    /// <summary>How long any one wait (a send, a response, more bytes, the end of the connection) may take.</summary>
    public TimeSpan Timeout { get; set; } = TestTimeouts.Receive;

    /// <summary>The value tests put in Host headers.</summary>
    public string HostHeader => _remote.ToString()!;

    /// <summary>Bytes received but not yet read by the test.</summary>
    public int Buffered => _end - _start;

    /// <summary>The received bytes not yet consumed (frame parsing reads them in place).</summary>
    internal ReadOnlySpan<byte> Unread => _buffer.AsSpan(_start, _end - _start);

    /// <param name="receiveBufferSize">
    /// Shrinks the socket's kernel receive buffer, so that a client that stops reading backs the server up after
    /// little data (the slow-consumer tests).
    /// </param>
    public static async Task<RawHttpClient> ConnectAsync(IPEndPoint endPoint, int? receiveBufferSize = null)
    {
        // NoDelay: a test that sends in 1-byte writes means 1-byte segments, not Nagle's coalescing.
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBufferSize is int size)
            {
                socket.ReceiveBufferSize = size;
            }
            using var timeout = new CancellationTokenSource(TestTimeouts.Receive);
            await socket.ConnectAsync(endPoint, timeout.Token);
            return new RawHttpClient(socket, endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A request head (ending with the blank line) as the API tests send it: <c>Host</c>, a bearer token, a JSON
    /// Content-Length when there is a body, extra headers, and <c>Connection: close</c>.
    /// </summary>
    public static string BuildRequest(string method, string path, string? token, int? contentLength, params (string Name, string Value)[] headers)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"{method} {path} HTTP/1.1\r\n");
        head.Append("Host: 127.0.0.1\r\n");
        if (token is not null)
        {
            head.Append(CultureInfo.InvariantCulture, $"Authorization: Bearer {token}\r\n");
        }
        if (contentLength is int length)
        {
            head.Append("Content-Type: application/json\r\n");
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {length}\r\n");
        }
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }
        head.Append("Connection: close\r\n\r\n");
        return head.ToString();
    }

    public static Task<HttpReply> GetAsync(IPEndPoint server, string path, string? token = null, params (string Name, string Value)[] headers) =>
        RequestAsync(server, "GET", path, token, body: null, headers);

    public static Task<HttpReply> PostAsync(IPEndPoint server, string path, string? token, string? body, params (string Name, string Value)[] headers) =>
        RequestAsync(server, "POST", path, token, body, headers);

    /// <summary>One request on a connection of its own (<see cref="BuildRequest"/>, the body as UTF-8), and its response.</summary>
    public static Task<HttpReply> RequestAsync(IPEndPoint server, string method, string path, string? token, string? body, params (string Name, string Value)[] headers)
    {
        var head = BuildRequest(method, path, token, body is null ? null : Encoding.UTF8.GetByteCount(body), headers);
        return SendRawAsync(server, Encoding.UTF8.GetBytes(head + body));
    }

    /// <summary>Sends the bytes as they are on a connection of its own and reads one response.</summary>
    public static async Task<HttpReply> SendRawAsync(IPEndPoint server, byte[] request)
    {
        await using var client = await ConnectAsync(server);
        await client.SendAsync(request);
        return await client.ReadResponseAsync();
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

    /// <summary>
    /// Reads one response: the head, then the body: none for 1xx, 204, 304 and a <c>text/event-stream</c> (the test
    /// reads the stream itself), Content-Length bytes when announced, otherwise everything until the server closes.
    /// </summary>
    public async Task<HttpReply> ReadResponseAsync()
    {
        var head = await ReadHeadAsync();
        if (head.Status is < 200 or 204 or 304 || (head.Header("Content-Type")?.StartsWith("text/event-stream", StringComparison.Ordinal) ?? false))
        {
            return head;
        }
        if (head.Has("Transfer-Encoding"))
        {
            throw new InvalidDataException($"the server sent a Transfer-Encoding, which it never does: {head}");
        }
        byte[] body = head.Header("Content-Length") is { } length
            ? await ReadExactlyAsync(int.Parse(length, NumberStyles.None, CultureInfo.InvariantCulture))
            : await ReadToEndAsync();
        return new HttpReply(head.Head, body);
    }

    /// <summary>Reads a response head and nothing after it.</summary>
    public async Task<HttpReply> ReadHeadAsync()
    {
        var head = await ReadUntilAsync(EndOfHead) ?? throw new EndOfStreamException("the server closed the connection without a response");
        return new HttpReply(Encoding.Latin1.GetString(head, 0, head.Length - EndOfHead.Length), []);
    }

    /// <summary>The bytes up to and including <paramref name="delimiter"/>, or null if the server closed first.</summary>
    public async Task<byte[]?> ReadUntilAsync(byte[] delimiter)
    {
        int searchFrom = 0;
        while (true)
        {
            int found = Unread[searchFrom..].IndexOf(delimiter);
            if (found >= 0)
            {
                return Take(searchFrom + found + delimiter.Length);
            }
            searchFrom = Math.Max(0, Buffered - delimiter.Length + 1);
            if (!await ReceiveMoreAsync($"'{Encoding.Latin1.GetString(delimiter).ReplaceLineEndings("\\n")}'", endIsError: false))
            {
                return null;
            }
        }
    }

    /// <summary>Exactly <paramref name="count"/> bytes; fails if the server closes first.</summary>
    public async Task<byte[]> ReadExactlyAsync(int count)
    {
        await EnsureAsync(count, $"{count} bytes");
        return Take(count);
    }

    /// <summary>Everything until the server ends the connection.</summary>
    public async Task<byte[]> ReadToEndAsync()
    {
        while (await ReceiveMoreAsync("the end of the connection", endIsError: false))
        {
        }
        return Take(Buffered);
    }

    /// <summary>
    /// Waits until the server ends the TCP connection (orderly FIN or reset). Anything received before that is a
    /// failure: nothing may follow a final HTTP response or a WebSocket close frame (RFC 6455 5.5.1).
    /// </summary>
    public async Task ExpectClosedAsync()
    {
        if (Buffered > 0)
        {
            throw new InvalidDataException($"the server sent {Buffered} more bytes instead of ending the connection: {Convert.ToHexString(Unread[..Math.Min(64, Buffered)])}");
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

    /// <summary>Sends our FIN; the server sees the end of its input.</summary>
    public void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already reset by the server, or disposed.
        }
    }

    public void Dispose() => _socket.Dispose();

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Receives until at least <paramref name="count"/> unread bytes are buffered; fails if the server closes first.</summary>
    internal async Task EnsureAsync(int count, string waitingFor)
    {
        while (Buffered < count)
        {
            await ReceiveMoreAsync(waitingFor, endIsError: true);
        }
    }

    /// <summary>Marks <paramref name="count"/> unread bytes as read.</summary>
    internal void Consume(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Buffered);
        _start += count;
    }

    private byte[] Take(int count)
    {
        var taken = Unread[..count].ToArray();
        _start += count;
        return taken;
    }

    /// <summary>One receive into the buffer; false when the server ended the connection (unless that is an error here).</summary>
    private async Task<bool> ReceiveMoreAsync(string waitingFor, bool endIsError)
    {
        if (_end == _buffer.Length)
        {
            // Keep unread bytes at the front; grow only when they fill more than half the buffer.
            int unread = Buffered;
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
            throw new TimeoutException($"no data from the server within {Timeout.TotalSeconds} s while waiting for {waitingFor}; unread: '{Encoding.Latin1.GetString(Unread[..Math.Min(Buffered, 200)])}'");
        }
        catch (SocketException ex) when (!endIsError && ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            received = 0;
        }
        if (received == 0)
        {
            if (endIsError)
            {
                throw new EndOfStreamException($"the server ended the connection while the test waited for {waitingFor}");
            }
            return false;
        }
        _end += received;
        return true;
    }
}
