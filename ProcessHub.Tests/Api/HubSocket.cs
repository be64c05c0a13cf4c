using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ProcessHub.Tests.Api;

/// <summary>
/// A WebSocket client of the hub on .NET's <see cref="ClientWebSocket"/>: a background loop collects every text
/// message in arrival order; the test awaits them one at a time, each with a deadline.
/// </summary>
internal sealed class HubSocket : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly ClientWebSocket _socket;
    private readonly Channel<string> _messages = Channel.CreateUnbounded<string>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;

    private HubSocket(ClientWebSocket socket)
    {
        _socket = socket;
        _receiving = ReceiveLoopAsync();
    }

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;
    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    public static Task<HubSocket> ConnectAsync(IPEndPoint server, string token) =>
        ConnectAsync(new Uri($"ws://{server}/ws?token={Uri.EscapeDataString(token)}"));

    public static async Task<HubSocket> ConnectAsync(Uri uri)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            using var connecting = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(uri, connecting.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new HubSocket(socket);
    }

    /// <summary>Connects and reads the <c>process_list</c> that must come first.</summary>
    public static async Task<(HubSocket Socket, JsonElement ProcessList)> ConnectAndListAsync(IPEndPoint server, string token)
    {
        var socket = await ConnectAsync(server, token);
        var list = await socket.ReceiveAsync();
        if (list.GetProperty("type").GetString() != "process_list")
        {
            await socket.DisposeAsync();
            throw new InvalidOperationException($"the first message was not process_list: {list}");
        }
        return (socket, list);
    }

    /// <summary>The next message's exact text.</summary>
    public async Task<string> ReceiveTextAsync()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            if (await _messages.Reader.WaitToReadAsync(deadline.Token) && _messages.Reader.TryRead(out var text))
            {
                return text;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"no WebSocket message within {Timeout.TotalSeconds} s");
        }
        throw new WebSocketException($"the connection closed ({CloseStatus} {CloseStatusDescription}) before the next message");
    }

    public async Task<JsonElement> ReceiveAsync() => JsonDocument.Parse(await ReceiveTextAsync()).RootElement;

    /// <summary>Messages up to and including the first one that matches; their texts in order.</summary>
    public async Task<List<string>> ReceiveUntilAsync(Func<JsonElement, bool> last)
    {
        var texts = new List<string>();
        while (true)
        {
            var text = await ReceiveTextAsync();
            texts.Add(text);
            if (last(JsonDocument.Parse(text).RootElement))
            {
                return texts;
            }
        }
    }

    public async Task SendAsync(object message)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        await _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, endOfMessage: true, deadline.Token);
    }

    /// <summary>The client-initiated close handshake.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        await _socket.CloseAsync(status, "bye", deadline.Token);
    }

    /// <summary>Waits until the server has closed the connection (its close frame has arrived).</summary>
    public async Task WaitForCloseAsync()
    {
        await _receiving.WaitAsync(Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _receiving.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            // Abort below ends it.
        }
        _socket.Abort();
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    if (result.MessageType == WebSocketMessageType.Text)
                    {
                        _messages.Writer.TryWrite(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length));
                    }
                    message.SetLength(0);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Aborted, or the test is done with this socket.
        }
        finally
        {
            _messages.Writer.TryComplete();
        }
    }
}
