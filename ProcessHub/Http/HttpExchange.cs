using System.Text.Json;
using ProcessHub.Transport;

namespace ProcessHub.Http;

/// <summary>One request and the means to answer it: a complete response, or a stream (SSE) that ends the connection.</summary>
internal sealed class HttpExchange
{
    private readonly ClientConnection _connection;

    public HttpExchange(ClientConnection connection, HttpRequest request, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> routeValues, CancellationToken aborted)
    {
        _connection = connection;
        Request = request;
        Body = body;
        RouteValues = routeValues;
        Aborted = aborted;
        KeepAlive = request.KeepAlive;
    }

    public HttpRequest Request { get; }
    public ReadOnlyMemory<byte> Body { get; }
    public IReadOnlyDictionary<string, string> RouteValues { get; }

    /// <summary>Fires when the server shuts down; a stream should end then.</summary>
    public CancellationToken Aborted { get; }

    public bool ResponseStarted { get; private set; }

    /// <summary>Whether the connection may serve another request after this one.</summary>
    public bool KeepAlive { get; private set; }

    public ValueTask RespondAsync(int status, string? contentType, ReadOnlyMemory<byte> body, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ResponseStarted = true;
        var response = HttpResponseWriter.Build(status, contentType, body.Span, body.Length, KeepAlive, headers, omitBody: Request.IsHead);
        return _connection.SendAsync(response);
    }

    public ValueTask RespondJsonAsync<T>(int status, T value, JsonSerializerOptions? options = null, IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        RespondAsync(status, "application/json", JsonSerializer.SerializeToUtf8Bytes(value, options), headers);

    /// <summary>docs/protocol.md section 1: errors are <c>{"error": {"code", "message"}}</c>.</summary>
    public ValueTask RespondErrorAsync(int status, string code, string message, IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        RespondAsync(status, "application/json", HttpErrorBody.Create(code, message), headers);

    /// <summary>Starts a response with no length (SSE): the connection closes when the stream ends.</summary>
    public ValueTask StartStreamAsync(int status, string contentType, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ResponseStarted = true;
        KeepAlive = false;
        var head = HttpResponseWriter.Build(status, contentType, default, contentLength: null, keepAlive: false, headers);
        return _connection.SendAsync(head);
    }

    /// <summary>
    /// Completes when the client closes its side (or anything it sends during a stream, which HTTP/1.1 would
    /// only allow as a next request we will not serve). Lets a stream stop at once rather than at its next write.
    /// </summary>
    public async Task WaitForClientCloseAsync(CancellationToken cancellationToken)
    {
        var input = _connection.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The socket is gone: that is a close too.
        }
    }

    /// <summary>Writes more of a stream started with <see cref="StartStreamAsync"/>.</summary>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data) => _connection.SendAsync(data);
}
