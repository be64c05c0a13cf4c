using System.Net;
using System.Text.Json;
using ProcessHub.Transport;

namespace ProcessHub.Http;

/// <summary>
/// One request and the means to answer it: a complete response, or a stream (SSE) that ends the connection.
/// <para>
/// A pipelined request (RFC 9112 9.3.2) may be served while the one before it on the connection still waits for
/// the store: it then has a <em>predecessor</em>, and its response is held until the predecessor's has gone out, so
/// responses keep the order of the requests.
/// </para>
/// </summary>
internal sealed class HttpExchange
{
    private static readonly Task<bool> NoPredecessor = Task.FromResult(true);
    private readonly ClientConnection _connection;
    private readonly Func<ValueTask<ReadOnlyMemory<byte>>>? _readBody;
    private readonly Task<bool> _predecessor;
    private ReadOnlyMemory<byte> _body;
    private byte[]? _heldResponse;

    /// <summary>
    /// An exchange whose body has been read already (or that has none). <paramref name="predecessor"/>, when given,
    /// completes once the previous request's response has been sent, with whether the connection stays open.
    /// </summary>
    public HttpExchange(ClientConnection connection, HttpRequest request, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> routeValues, CancellationToken aborted, Task<bool>? predecessor = null)
    {
        _connection = connection;
        _body = body;
        _predecessor = predecessor ?? NoPredecessor;
        Request = request;
        RouteValues = routeValues;
        Aborted = aborted;
        KeepAlive = request.KeepAlive;
    }

    /// <summary>
    /// An exchange whose body is read only when the handler asks (<see cref="ReadBodyAsync"/>): the request carried
    /// <c>Expect: 100-continue</c>, and the client sends the body only after our 100, which
    /// <paramref name="readBody"/> sends. A handler that answers without asking (a 401) refuses the body.
    /// </summary>
    public HttpExchange(ClientConnection connection, HttpRequest request, Func<ValueTask<ReadOnlyMemory<byte>>> readBody, IReadOnlyDictionary<string, string> routeValues, CancellationToken aborted)
        : this(connection, request, ReadOnlyMemory<byte>.Empty, routeValues, aborted)
    {
        _readBody = readBody;
        BodyPending = true;
    }

    public HttpRequest Request { get; }

    /// <summary>Where the response's status is counted (for /metrics); none in a test that builds an exchange alone.</summary>
    public HttpResponseCounts? Responses { get; init; }

    /// <summary>The request body. A handler that may run before it is read (see <see cref="ReadBodyAsync"/>) awaits that first.</summary>
    public ReadOnlyMemory<byte> Body => BodyPending
        ? throw new InvalidOperationException("the request body has not been read yet: await ReadBodyAsync() first")
        : _body;

    /// <summary>True while the body has still to be read (Expect: 100-continue and the handler has not asked yet).</summary>
    public bool BodyPending { get; private set; }

    public IReadOnlyDictionary<string, string> RouteValues { get; }

    /// <summary>The peer's address, for log lines.</summary>
    public EndPoint? Remote => _connection.RemoteEndPoint;

    /// <summary>Fires when the server shuts down; a stream should end then.</summary>
    public CancellationToken Aborted { get; }

    public bool ResponseStarted { get; private set; }

    /// <summary>Whether the connection may serve another request after this one.</summary>
    public bool KeepAlive { get; private set; }

    /// <summary>
    /// Set by <see cref="MarkOrdered"/>: the request's change has its place in the hub's order and the handler now only
    /// waits for it to be stored, so the connection may start on the next pipelined request.
    /// </summary>
    public bool Ordered { get; private set; }

    /// <summary>
    /// Says that the engine has taken this request's change in order (the call that orders it has returned) and that
    /// the handler will not read the connection again: a pipelined request behind it may be served while this one
    /// waits for the store, which lets one commit carry several. Its response still goes out first.
    /// </summary>
    public void MarkOrdered() => Ordered = true;

    /// <summary>The connection closes after this response (an error that leaves the connection's state unknown).</summary>
    public void CloseAfterResponse() => KeepAlive = false;

    /// <summary>
    /// The body: at once when it was read with the head, otherwise after sending 100 Continue and reading it (a
    /// malformed or oversized body throws <see cref="RequestBodyRejectedException"/>). Call it once the request is
    /// known to be served, so that a refused request never makes its client send the body.
    /// </summary>
    public ValueTask<ReadOnlyMemory<byte>> ReadBodyAsync() => BodyPending ? ReadPendingBodyAsync() : new(_body);

    public ValueTask RespondAsync(int status, string? contentType, ReadOnlyMemory<byte> body, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ResponseStarted = true;
        RefuseBodyIfPending();
        // RFC 9110 8.6: no Content-Length in a 204, nor in a 304 (where it would have to be the 200's length).
        long? length = status is 204 or 304 ? null : body.Length;
        var response = HttpResponseWriter.Build(status, contentType, body.Span, length, KeepAlive, headers, omitBody: Request.IsHead);
        if (_predecessor.IsCompletedSuccessfully)
        {
            // The connection's earlier responses are out (or it is closing, and this one is dropped with it).
            return _predecessor.Result ? SendCountedAsync(response) : ValueTask.CompletedTask;
        }
        _heldResponse = response; // sent by SendHeldResponseAsync, in request order
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Once the handler is done: waits for the previous request's response, then sends this one's if it was held.
    /// Returns whether the connection may serve another request.
    /// </summary>
    public async Task<bool> SendHeldResponseAsync()
    {
        if (!await _predecessor.ConfigureAwait(false))
        {
            return false;
        }
        if (_heldResponse is { } held)
        {
            _heldResponse = null;
            await SendCountedAsync(held).ConfigureAwait(false);
        }
        return KeepAlive;
    }

    // Counted when it goes out: a response dropped with its closing connection was never sent.
    private ValueTask SendCountedAsync(byte[] response)
    {
        Responses?.CountWritten(response);
        return _connection.SendAsync(response);
    }

    public ValueTask RespondJsonAsync<T>(int status, T value, JsonSerializerOptions? options = null, IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        RespondAsync(status, "application/json", JsonSerializer.SerializeToUtf8Bytes(value, options ?? HttpJson.SerializerOptions), headers);

    /// <summary>docs/protocol.md section 1: errors are <c>{"error": {"code", "message"}}</c>.</summary>
    public ValueTask RespondErrorAsync(int status, string code, string message, IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        RespondAsync(status, "application/json", HttpErrorBody.Create(code, message), headers);

    /// <summary>Starts a response with no length (SSE): the connection closes when the stream ends.</summary>
    public async ValueTask StartStreamAsync(int status, string contentType, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ResponseStarted = true;
        RefuseBodyIfPending();
        KeepAlive = false;
        // A stream is written as it goes, so it cannot be held: it starts once the earlier responses are out.
        if (!await _predecessor.ConfigureAwait(false))
        {
            throw new IOException("the connection is closing: an earlier response ended it");
        }
        var head = HttpResponseWriter.Build(status, contentType, default, contentLength: null, keepAlive: false, headers);
        await SendCountedAsync(head).ConfigureAwait(false);
    }

    /// <summary>
    /// Completes when the client closes its side (a half-close too: docs/protocol.md 1.5). What it sends meanwhile,
    /// which HTTP/1.1 would only allow as a next request we will not serve, is read and dropped. Lets a stream stop
    /// at once rather than at its next write.
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

    private async ValueTask<ReadOnlyMemory<byte>> ReadPendingBodyAsync()
    {
        _body = await _readBody!().ConfigureAwait(false);
        BodyPending = false;
        return _body;
    }

    // RFC 9110 10.1.1: a final status sent instead of 100 leaves it open whether the client sends the body or not,
    // so the connection cannot carry another request: say so in this response.
    private void RefuseBodyIfPending()
    {
        if (BodyPending)
        {
            KeepAlive = false;
        }
    }
}
