using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// The suite's one WebSocket client, on <see cref="RawHttpClient"/>'s bare socket. At the frame level it has no
/// opinion about what is valid: it writes whatever bytes a test gives it and reads server frames exactly as they
/// arrive (the conformance cases). At the message level it is a strict client for the hub's tests: it sends masked
/// text and JSON, reassembles messages, answers pings, rejects a frame no server may send, and answers the
/// server's close. It never reads in the background: bytes are taken off the socket only when a test calls a
/// receive method, so "a client that stops reading" is a test that does not call one. Every wait has a timeout.
/// </summary>
internal sealed class RawWebSocketClient : IAsyncDisposable
{
    /// <summary>The RFC 6455 1.3 example key; its accept value is <see cref="SampleAccept"/>.</summary>
    public const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
    public const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    /// <summary>The largest frame a test expects from the server; anything bigger is a bug, not a buffer to grow.</summary>
    private const int MaxServerFrame = 16 * 1024 * 1024;

    private readonly RawHttpClient _http;

    private RawWebSocketClient(RawHttpClient http) => _http = http;

    public TimeSpan Timeout
    {
        get => _http.Timeout;
        set => _http.Timeout = value;
    }

    /// <summary>The value tests put in Host headers.</summary>
    public string HostHeader => _http.HostHeader;

    /// <summary>The code of the server's close frame, once a message-level receive has seen it.</summary>
    public int? CloseStatus { get; private set; }

    /// <summary>The reason of the server's close frame, once a message-level receive has seen it.</summary>
    public string? CloseDescription { get; private set; }

    /// <summary>A TCP connection and nothing more: the test writes the handshake itself.</summary>
    public static async Task<RawWebSocketClient> ConnectAsync(IPEndPoint endPoint, int? receiveBufferSize = null) =>
        new(await RawHttpClient.ConnectAsync(endPoint, receiveBufferSize));

    /// <summary>
    /// Connects and completes the opening handshake on <paramref name="path"/>; fails unless the server answers 101.
    /// For the hub the token goes in the query (<paramref name="queryToken"/>), in <c>Authorization: Bearer</c>
    /// (<paramref name="bearerToken"/>), or nowhere (the test then sends an auth message).
    /// <paramref name="receiveBufferSize"/> shrinks the socket's kernel buffer so a client that stops reading backs
    /// the server up after little data.
    /// </summary>
    public static async Task<RawWebSocketClient> OpenAsync(IPEndPoint endPoint, string path = "/ws", string? queryToken = null, string? bearerToken = null, int? receiveBufferSize = null)
    {
        var client = await ConnectAsync(endPoint, receiveBufferSize);
        try
        {
            if (queryToken is not null)
            {
                path += (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "token=" + Uri.EscapeDataString(queryToken);
            }
            string[] extra = bearerToken is null ? [] : [$"Authorization: Bearer {bearerToken}"];
            var response = await client.HandshakeAsync(path, SampleKey, extra);
            if (response.Status != 101)
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

    /// <summary>Opens <c>/ws</c> with <paramref name="token"/> in the query and reads the process_list that must come first.</summary>
    public static async Task<(RawWebSocketClient Client, HubMessage List)> OpenWithListAsync(IPEndPoint endPoint, string token, int? receiveBufferSize = null)
    {
        var client = await OpenAsync(endPoint, queryToken: token, receiveBufferSize: receiveBufferSize);
        try
        {
            var list = await client.ReceiveAsync();
            if (list.Type != "process_list")
            {
                throw new InvalidDataException($"the first message must be process_list, got {list}");
            }
            return (client, list);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens a <c>ws://</c> URL as printed by the server (host, port, path and query).</summary>
    public static Task<RawWebSocketClient> OpenAsync(Uri url) =>
        OpenAsync(new IPEndPoint(IPAddress.Parse(url.Host), url.Port), url.PathAndQuery);

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
    public async Task<HttpReply> HandshakeAsync(string path = "/ws", string key = SampleKey, params string[] extraHeaderLines)
    {
        await SendRawAsync(UpgradeRequest(path, key, extraHeaderLines));
        return await ReadHttpResponseAsync();
    }

    /// <summary>Reads one HTTP response (<see cref="RawHttpClient.ReadResponseAsync"/>).</summary>
    public Task<HttpReply> ReadHttpResponseAsync() => _http.ReadResponseAsync();

    /// <summary>Writes text as Latin-1 bytes, exactly as written (raw HTTP); not a WebSocket message (<see cref="SendTextAsync(string)"/>).</summary>
    public Task SendRawAsync(string raw, int chop = 0) => _http.SendAsync(raw, chop);

    /// <summary>Writes raw bytes (frames built with <see cref="ClientFrame"/>); with <paramref name="chop"/> &gt; 0 in writes of at most that many bytes.</summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes, int chop = 0) => _http.SendAsync(bytes, chop);

    /// <summary>Sends one masked text message.</summary>
    public Task SendTextAsync(string text) => SendRawAsync(ClientFrame.Text(text));

    /// <summary>Sends one masked text message with exactly these payload bytes (which need not be valid UTF-8).</summary>
    public Task SendTextAsync(ReadOnlySpan<byte> payload) => SendRawAsync(ClientFrame.Text(payload));

    /// <summary>Sends an object as one JSON text message, e.g. <c>new { type = "ping", request_id = "r1" }</c>.</summary>
    public Task SendJsonAsync(object message) => SendTextAsync(JsonSerializer.SerializeToUtf8Bytes(message));

    /// <summary>Sends one masked binary message.</summary>
    public Task SendBinaryAsync(ReadOnlySpan<byte> payload) => SendRawAsync(ClientFrame.Binary(payload));

    /// <summary>Reads the next frame the server sent (RFC 6455 5.2), whatever it is.</summary>
    public async Task<ServerFrame> ReceiveFrameAsync()
    {
        await _http.EnsureAsync(2, "a frame");
        byte b0 = _http.Unread[0];
        byte b1 = _http.Unread[1];
        bool masked = (b1 & 0x80) != 0;
        int lengthCode = b1 & 0x7F;
        int extended = lengthCode switch { 126 => 2, 127 => 8, _ => 0 };
        int headerLength = 2 + extended + (masked ? 4 : 0);
        await _http.EnsureAsync(headerLength, "a frame header");

        ulong length = extended switch
        {
            2 => BinaryPrimitives.ReadUInt16BigEndian(_http.Unread[2..]),
            8 => BinaryPrimitives.ReadUInt64BigEndian(_http.Unread[2..]),
            _ => (ulong)lengthCode,
        };
        if (length > MaxServerFrame)
        {
            throw new InvalidDataException($"the server announced a {length}-byte frame; no test expects one that big");
        }
        await _http.EnsureAsync(headerLength + (int)length, "a frame payload");

        var payload = _http.Unread.Slice(headerLength, (int)length).ToArray();
        if (masked)
        {
            var key = _http.Unread.Slice(headerLength - 4, 4);
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] ^= key[i % 4];
            }
        }
        _http.Consume(headerLength + (int)length);
        return new ServerFrame((b0 & 0x80) != 0, (byte)((b0 >> 4) & 0x7), (byte)(b0 & 0xF), masked, payload);
    }

    /// <summary>The next message; fails if the server closes instead or nothing arrives within <paramref name="timeout"/>.</summary>
    public async Task<HubMessage> ReceiveAsync(TimeSpan? timeout = null)
    {
        var message = await ReceiveOrCloseAsync(timeout);
        return message ?? throw new InvalidOperationException($"expected a message, but the server closed the connection with {CloseStatus} \"{CloseDescription}\"");
    }

    /// <summary>The next message's exact text.</summary>
    public async Task<string> ReceiveTextAsync() => (await ReceiveAsync()).Text;

    /// <summary>Reads until a message of <paramref name="type"/>; the ones before it go to <paramref name="skipped"/>.</summary>
    public Task<HubMessage> ReceiveUntilAsync(string type, List<HubMessage>? skipped = null) =>
        ReceiveUntilAsync(m => m.Type == type, skipped);

    /// <summary>Reads until <paramref name="predicate"/> holds; the messages before it go to <paramref name="skipped"/>.</summary>
    public async Task<HubMessage> ReceiveUntilAsync(Func<HubMessage, bool> predicate, List<HubMessage>? skipped = null)
    {
        while (true)
        {
            var message = await ReceiveAsync();
            if (predicate(message))
            {
                return message;
            }
            skipped?.Add(message);
        }
    }

    /// <summary>The messages up to and including the first one <paramref name="last"/> holds for, in order.</summary>
    public async Task<List<HubMessage>> ReceiveThroughAsync(Func<HubMessage, bool> last)
    {
        var messages = new List<HubMessage>();
        messages.Add(await ReceiveUntilAsync(last, messages));
        return messages;
    }

    /// <summary>
    /// Reads until the server's close frame and answers it. Messages before it go to <paramref name="before"/>; without
    /// a list, any message before the close fails the wait (an auth failure must send nothing but the close).
    /// </summary>
    public async Task<(int Status, string? Description)> ReceiveCloseAsync(List<HubMessage>? before = null)
    {
        while (true)
        {
            var message = await ReceiveOrCloseAsync(null);
            if (message is null)
            {
                return (CloseStatus!.Value, CloseDescription);
            }
            if (before is null)
            {
                throw new InvalidOperationException($"expected the server to close, but it sent {message}");
            }
            before.Add(message);
        }
    }

    /// <summary>
    /// Starts the close handshake (RFC 6455 7.1.2): sends a close with <paramref name="code"/>, then reads (and
    /// drops) messages until the server's answering close, and half-closes.
    /// </summary>
    public async Task CloseAsync(ushort code = CloseCodes.Normal, string reason = "bye")
    {
        await SendRawAsync(ClientFrame.Close(code, Encoding.UTF8.GetBytes(reason)));
        await ReceiveCloseAsync([]);
    }

    /// <summary>
    /// The client's half of a close the server started (RFC 6455 5.5.1): echo the code, then half-close, as a
    /// careful client does so the server need not wait for its close timer. The server may already be gone.
    /// </summary>
    public async Task AnswerCloseAsync(ServerFrame serverClose)
    {
        try
        {
            await SendRawAsync(ClientFrame.Close(serverClose.CloseCode));
            ShutdownSend();
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The server closed first: nothing left to answer.
        }
    }

    /// <summary>Waits until the server ends the TCP connection (<see cref="RawHttpClient.ExpectClosedAsync"/>).</summary>
    public Task ExpectClosedAsync() => _http.ExpectClosedAsync();

    /// <summary>Sends our FIN; the server sees the end of its input.</summary>
    public void ShutdownSend() => _http.ShutdownSend();

    /// <summary>Drops the TCP connection without a close handshake, as a lost network or a killed tab would.</summary>
    public void Abort() => _http.Dispose();

    public ValueTask DisposeAsync() => _http.DisposeAsync();

    /// <summary>The next text message, or null once the server's close frame arrived (answered here).</summary>
    public async Task<HubMessage?> ReceiveOrCloseAsync(TimeSpan? timeout = null)
    {
        if (CloseStatus is not null)
        {
            throw new InvalidOperationException($"the connection is already closed ({CloseStatus} \"{CloseDescription}\")");
        }
        var previous = Timeout;
        Timeout = timeout ?? previous;
        try
        {
            List<byte[]>? fragments = null;
            while (true)
            {
                var frame = await ReceiveFrameAsync();
                if (frame.Masked || frame.Rsv != 0)
                {
                    throw new InvalidDataException($"no server may send this frame (RFC 6455 5.1, 5.2): {frame}");
                }
                switch (frame.Opcode)
                {
                    case Opcodes.Ping:
                        await SendRawAsync(ClientFrame.Pong(frame.Payload));
                        continue;
                    case Opcodes.Pong:
                        continue;
                    case Opcodes.Close:
                        CloseStatus = frame.CloseCode ?? 1005;
                        CloseDescription = frame.CloseReason;
                        await AnswerCloseAsync(frame);
                        return null;
                    case Opcodes.Text when fragments is null:
                    case Opcodes.Continuation when fragments is not null:
                        (fragments ??= []).Add(frame.Payload);
                        if (frame.Fin)
                        {
                            return new HubMessage([.. fragments.SelectMany(f => f)]);
                        }
                        continue;
                    default:
                        throw new InvalidDataException($"the hub sent an unexpected frame: {frame}");
                }
            }
        }
        finally
        {
            Timeout = previous;
        }
    }
}
