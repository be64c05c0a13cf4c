using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>
/// A browser tab as the soak plays it: .NET's <see cref="ClientWebSocket"/> with the token in the URL (and pings
/// answered by the runtime), messages read one at a time and parsed.
/// </summary>
internal sealed class SoakTab : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly MemoryStream _message = new();

    private SoakTab(ClientWebSocket socket) => _socket = socket;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseDescription => _socket.CloseStatusDescription;

    public static async Task<SoakTab> ConnectAsync(Uri webSocketUri, string token, CancellationToken cancellation)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // the hub pings; the runtime answers
        try
        {
            await socket.ConnectAsync(new Uri(webSocketUri + "?token=" + Uri.EscapeDataString(token)), cancellation).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new SoakTab(socket);
    }

    /// <summary>The next message, or null once the hub closed the connection (the close is answered).</summary>
    public async Task<JsonElement?> ReceiveAsync(CancellationToken cancellation)
    {
        _message.SetLength(0);
        while (true)
        {
            WebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(_buffer, cancellation).ConfigureAwait(false);
            }
            catch (WebSocketException)
            {
                // Aborted because the soak ended (or the caller's time ran out) is the caller's to judge, not a reset.
                cancellation.ThrowIfCancellationRequested();
                return null; // reset or aborted
            }
            if (result.MessageType == WebSocketMessageType.Close)
            {
                try
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
                {
                    // Already gone.
                }
                return null;
            }
            _message.Write(_buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                using var document = JsonDocument.Parse(_message.GetBuffer().AsMemory(0, (int)_message.Length));
                return document.RootElement.Clone();
            }
        }
    }

    public Task SendAsync(object message, CancellationToken cancellation) =>
        _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, endOfMessage: true, cancellation);

    public Task SendTextAsync(string text, CancellationToken cancellation) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, cancellation);

    /// <summary>A normal close (1000), waiting for the hub's answer.</summary>
    public async Task CloseAsync(CancellationToken cancellation)
    {
        try
        {
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cancellation).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Cut short by the soak's end or the caller's time limit: the caller judges that (a close cut at the end of
            // the soak is no missing echo; one that took the whole limit is a violation of its own).
            cancellation.ThrowIfCancellationRequested();
            // The hub is gone; the abort below ends it either way.
        }
    }

    /// <summary>Drops the connection without a close handshake, as a killed tab does.</summary>
    public void Abort() => _socket.Abort();

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        _message.Dispose();
        return ValueTask.CompletedTask;
    }
}
