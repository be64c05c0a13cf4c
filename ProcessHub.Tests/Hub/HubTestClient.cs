using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// A real WebSocket client (.NET's <see cref="ClientWebSocket"/> over a loopback socket) for the hub's tests.
/// It never reads in the background: a message is taken off the socket only when a test calls a receive method,
/// so "a client that stops reading" is simply a test that does not call one. Every wait has a timeout.
/// </summary>
internal sealed class HubTestClient : IAsyncDisposable
{
    /// <summary>How long any single wait may take; generous, since the machine is small and shared.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly ClientWebSocket _socket;
    private readonly HttpMessageInvoker? _invoker;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private readonly MemoryStream _message = new();

    private HubTestClient(ClientWebSocket socket, HttpMessageInvoker? invoker)
    {
        _socket = socket;
        _invoker = invoker;
    }

    /// <summary>The close code the server sent, once a receive has seen its close frame.</summary>
    public int? CloseStatus { get; private set; }

    public string? CloseDescription { get; private set; }

    public WebSocketState State => _socket.State;

    /// <summary>
    /// Opens <c>ws://endpoint/ws</c>. The token goes in the query (<paramref name="queryToken"/>), in
    /// <c>Authorization: Bearer</c> (<paramref name="bearerToken"/>), or nowhere (the test then sends an auth message).
    /// <paramref name="receiveBufferSize"/> shrinks the client socket's kernel buffer so a client that stops reading
    /// backs the server up after little data.
    /// </summary>
    public static async Task<HubTestClient> ConnectAsync(IPEndPoint endPoint, string? queryToken = null, string? bearerToken = null, int? receiveBufferSize = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // the hub's own pings are off in tests; keep the wire quiet
        if (bearerToken is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + bearerToken);
        }
        var uri = new Uri($"ws://{endPoint.Address}:{endPoint.Port}/ws" + (queryToken is null ? string.Empty : "?token=" + Uri.EscapeDataString(queryToken)));
        HttpMessageInvoker? invoker = null;
        if (receiveBufferSize is int size)
        {
            invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var raw = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = size };
                    try
                    {
                        await raw.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                        return new NetworkStream(raw, ownsSocket: true);
                    }
                    catch
                    {
                        raw.Dispose();
                        throw;
                    }
                },
            });
        }
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        try
        {
            await socket.ConnectAsync(uri, invoker, timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            invoker?.Dispose();
            throw;
        }
        return new HubTestClient(socket, invoker);
    }

    public Task SendAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json));

    /// <summary>Sends an anonymous object as JSON, e.g. <c>new { type = "ping", request_id = "r1" }</c>.</summary>
    public Task SendJsonAsync(object message) => SendAsync(JsonSerializer.SerializeToUtf8Bytes(message));

    public async Task SendAsync(byte[] utf8)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _socket.SendAsync(utf8, WebSocketMessageType.Text, endOfMessage: true, timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Sends a binary message, which the hub does not accept.</summary>
    public async Task SendBinaryAsync(byte[] data)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _socket.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, timeout.Token).ConfigureAwait(false);
    }

    /// <summary>The next message; fails if the server closes instead or nothing arrives in time.</summary>
    public async Task<HubMessage> ReceiveAsync(TimeSpan? timeout = null)
    {
        var message = await ReceiveOrCloseAsync(timeout).ConfigureAwait(false);
        return message ?? throw new InvalidOperationException($"expected a message, but the server closed the connection with {CloseStatus} \"{CloseDescription}\"");
    }

    /// <summary>Reads until a message of <paramref name="type"/>; the ones before it go to <paramref name="skipped"/>.</summary>
    public Task<HubMessage> ReceiveUntilAsync(string type, List<HubMessage>? skipped = null) =>
        ReceiveUntilAsync(m => m.Type == type, skipped);

    /// <summary>Reads until <paramref name="predicate"/> holds; the messages before it go to <paramref name="skipped"/>.</summary>
    public async Task<HubMessage> ReceiveUntilAsync(Func<HubMessage, bool> predicate, List<HubMessage>? skipped = null)
    {
        while (true)
        {
            var message = await ReceiveAsync().ConfigureAwait(false);
            if (predicate(message))
            {
                return message;
            }
            skipped?.Add(message);
        }
    }

    /// <summary>
    /// Reads until the server's close frame and answers it. Messages before it go to <paramref name="before"/>; without
    /// a list, any message before the close fails the wait (an auth failure must send nothing but the close).
    /// </summary>
    public async Task<(int Status, string? Description)> ReceiveCloseAsync(List<HubMessage>? before = null)
    {
        while (true)
        {
            var message = await ReceiveOrCloseAsync(null).ConfigureAwait(false);
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

    /// <summary>Closes from our side (1000) and waits for the server's answer.</summary>
    public async Task CloseAsync()
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Drops the TCP connection without a close handshake, as a lost network or a killed tab would.</summary>
    public void Abort() => _socket.Abort();

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        _invoker?.Dispose();
        _message.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The next text message, or null once the server's close frame arrived (answered here).</summary>
    private async Task<HubMessage?> ReceiveOrCloseAsync(TimeSpan? timeout)
    {
        if (CloseStatus is not null)
        {
            throw new InvalidOperationException($"the connection is already closed ({CloseStatus} \"{CloseDescription}\")");
        }
        var limit = timeout ?? DefaultTimeout;
        using var cancellation = new CancellationTokenSource(limit);
        _message.SetLength(0);
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(_buffer, cancellation.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    CloseStatus = (int?)result.CloseStatus;
                    CloseDescription = result.CloseStatusDescription;
                    await AnswerCloseAsync().ConfigureAwait(false);
                    return null;
                }
                if (result.MessageType != WebSocketMessageType.Text)
                {
                    throw new InvalidOperationException("the hub sent a binary message");
                }
                _message.Write(_buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    return new HubMessage(_message.ToArray());
                }
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            throw new TimeoutException($"nothing from the hub within {limit.TotalSeconds} s");
        }
    }

    private async Task AnswerCloseAsync()
    {
        // RFC 6455 5.5.1: echo the close so the server can end the handshake cleanly; the server may already be gone.
        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Nothing to answer any more.
        }
    }
}
