using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Transport;
using ProcessHub.WebSockets;

namespace ProcessHub.Server;

/// <summary>
/// Serves one TCP connection: HTTP/1.1 requests with keep-alive until one of them upgrades to a WebSocket
/// (<c>GET /ws</c>), after which the same pipe carries frames. Every refusal is an exact status (docs/protocol.md sections 1 and 5).
/// </summary>
internal sealed class HttpConnectionLoop
{
    private static readonly KeyValuePair<string, string>[] VersionHeader = [new("Sec-WebSocket-Version", "13")];
    private static readonly byte[] ContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();
    private const string HostNotAllowedMessage = "host not allowed: this server answers only to its configured host names (--allowed-host)";
    private static readonly byte[] HostNotAllowed = HttpResponseWriter.Error(403, "forbidden", HostNotAllowedMessage, keepAlive: false);
    private static readonly byte[] HostNotAllowedHead = HttpResponseWriter.Error(403, "forbidden", HostNotAllowedMessage, keepAlive: false, omitBody: true);

    // How long, and for how many bytes, a connection we close reads on for the client's own close. A client that sends
    // its whole body before it reads (Python's http.client, urllib, requests) must get to the end of it to read the 413:
    // with 1 MiB, a 4 MB body met a reset and its worker saw "broken pipe" instead (an audit, 2026-12-03). The bytes
    // cover the largest body --max-body-bytes allows; the time bounds what a client that never stops can hold.
    private static readonly TimeSpan LingerTimeout = TimeSpan.FromSeconds(2);
    private const long MaxLingerBytes = 64 * 1024 * 1024;
    private readonly ServerOptions _options;
    private readonly HostAllowList _allowedHosts;
    private readonly Router _router;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LogThrottle _refusals = new(TimeSpan.FromSeconds(10));

    /// <summary>Responses sent, by status: this loop's own (refusals, 404s, upgrades) and its handlers'.</summary>
    public HttpResponseCounts Responses { get; }

    public HttpConnectionLoop(ServerOptions options, Router router, ILogger logger, TimeProvider time)
    {
        Responses = new HttpResponseCounts();
        _options = options;
        _allowedHosts = new HostAllowList(options.AllowedHosts);
        _router = router;
        _logger = logger;
        _time = time;
    }

    /// <summary>
    /// Serves HTTP requests until the connection closes or upgrades. Returns the upgrade (the 101 already sent) for
    /// the caller to run the WebSocket: by then this method's request buffer, deadline and state are gone, so an
    /// idle WebSocket keeps none of them.
    /// </summary>
    public async Task<UpgradeRequest?> RunAsync(ClientConnection client, CancellationToken stopping)
    {
        var request = new HttpRequest();
        // The requests still being answered, as one task: it completes once the last response served so far has been
        // sent, with whether the connection stays open. Pipelined requests chain onto it (see ServeAsync).
        Task<bool> answered = Answered;
        // The answers of that chain still waiting, oldest first: at most MaxAnswersWaiting (see below).
        var waiting = new Queue<Task<bool>>();
        // The head timeout runs on the server's clock (a linked source could only use the system's), and shutdown
        // cancels it too.
        using var deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var stoppingRegistration = stopping.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), deadline);
        bool closeGracefully = false;
        bool peerGone = false;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                while (waiting.TryPeek(out var oldest) && oldest.IsCompleted)
                {
                    _ = waiting.Dequeue(); // answered: nothing left to wait for
                }
                if (waiting.Count >= MaxAnswersWaiting && !await WhenAnsweredAsync(waiting.Dequeue()).ConfigureAwait(false))
                {
                    // A client that pipelines without reading its answers holds them (and their requests) here; past
                    // the bound the hub stops reading until the oldest is out (docs/protocol.md 1.2).
                    closeGracefully = true;
                    return null;
                }
                deadline.CancelAfter(_options.RequestHeadTimeout);
                var rejection = await ReadHeadAsync(client.Input, request, deadline.Token).ConfigureAwait(false);
                if (rejection is null)
                {
                    return null; // the client closed between requests
                }
                // A refusal closes the connection, so it waits for the answers before it like any request that
                // cannot overlap them: sent at once, it would cut off an earlier answer still waiting for the store.
                bool hostRefused = rejection == RequestRejection.None && !_allowedHosts.Allows(request);
                if ((rejection != RequestRejection.None || hostRefused || !MayOverlap(request)) && !await answered.ConfigureAwait(false))
                {
                    closeGracefully = true; // an earlier response closed the connection: this request is not served
                    return null;
                }
                if (rejection != RequestRejection.None)
                {
                    await RefuseAsync(client, RejectionResponse(rejection.Value, request.RefusedHeadWasHead, request.RepeatedHeader), stopping).ConfigureAwait(false);
                    return null;
                }

                if (hostRefused)
                {
                    // Before routing and before the upgrade: nothing is served to a name we do not answer to. The body
                    // (if any) is not read, so the connection closes.
                    await RefuseAsync(client, request.IsHead ? HostNotAllowedHead : HostNotAllowed, stopping).ConfigureAwait(false);
                    return null;
                }

                if (request.Path.SequenceEqual("/ws"u8))
                {
                    deadline.CancelAfter(Timeout.InfiniteTimeSpan);
                    var upgrade = await UpgradeAsync(client, request).ConfigureAwait(false);
                    // A refused upgrade (405, 400, 426, 403) closes the connection, and what the client sent after the
                    // head (a body, early frames) is unread: closed at once, that makes a reset that can destroy the
                    // answer before the client reads it. So it lingers like any other refusal.
                    closeGracefully = upgrade is null;
                    return upgrade;
                }

                // Read before the request is handed over: an answer that still waits for the store returns the head's
                // buffer to the pool when it is done, which can be at any moment after ServeAsync returns, so the head
                // is not read after it. (Read after it, a commit that finished in between made the loop read an empty
                // head, ArgumentOutOfRangeException and a reset connection, or a buffer another connection had rented:
                // found once in 520,000 pipelined reports by an audit.)
                bool askedToClose = !request.KeepAlive;
                answered = await ServeAsync(client, request, deadline, answered, stopping).ConfigureAwait(false);
                if (!answered.IsCompleted)
                {
                    if (askedToClose)
                    {
                        // It asked to close (Connection: close): nothing sent after it is served, as without pipelining.
                        closeGracefully = true;
                        request = new HttpRequest(); // the pending request returns its own head
                        return null;
                    }
                    // Still waiting for the store, and holding its request: the next one gets a head of its own.
                    waiting.Enqueue(answered);
                    request = new HttpRequest();
                }
                else
                {
                    request.ReturnBuffer();
                    // Awaited, not .Result: a request whose peer went away (a broken pipe in an SSE stream) faulted
                    // its task, and its own exception, not an AggregateException, must reach the catch below.
                    if (!await answered.ConfigureAwait(false))
                    {
                        closeGracefully = true;
                        return null;
                    }
                }
                if (!deadline.TryReset())
                {
                    return null;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The head or body did not arrive in time, the server is stopping, or a pipelined answer closed the
            // connection (FinishAsync cancels the deadline for that).
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            peerGone = true;
        }
        finally
        {
            request.ReturnBuffer();
            // The connection is closed by our caller once this returns: the requests still waiting for the store
            // answer first (or find the socket gone). One whose answer closed the connection closes it the graceful way.
            bool keptOpen = await WhenAnsweredAsync(answered).ConfigureAwait(false);
            if ((closeGracefully || !keptOpen) && !peerGone && !stopping.IsCancellationRequested)
            {
                await CloseGracefullyAsync(client, stopping).ConfigureAwait(false);
            }
        }
        return null;
    }

    private static readonly Task<bool> Answered = Task.FromResult(true);

    /// <summary>
    /// Requests of one connection that may wait for their answers at once. Pipelining lets a connection keep events in
    /// flight while the store commits (decision 48); 16 keep a commit well filled, and bound what a client that never
    /// reads its answers can make the hub hold (each waiting request keeps its body and its answer).
    /// </summary>
    internal const int MaxAnswersWaiting = 16;

    /// <summary>
    /// Whether <paramref name="request"/> may be served while earlier requests still wait for the store, as far as its
    /// head tells (its route decides the rest: <see cref="RouteMatch.Pipelined"/>): a body with a length and no
    /// <c>Expect: 100-continue</c>, no upgrade. Anything else waits until the earlier responses are out, and is then
    /// served as it would be alone.
    /// </summary>
    private static bool MayOverlap(HttpRequest request) =>
        !request.IsChunked && !request.ExpectsContinue && !request.Path.SequenceEqual("/ws"u8);

    /// <summary>Whether the connection stays open after the answers served so far (false if the peer went away meanwhile).</summary>
    private static async Task<bool> WhenAnsweredAsync(Task<bool> answered)
    {
        try
        {
            return await answered.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false; // the peer went away while an answer was waiting
        }
    }

    /// <summary>Null when the peer closed cleanly before a new request began.</summary>
    private async Task<RequestRejection?> ReadHeadAsync(PipeReader input, HttpRequest request, CancellationToken deadline)
    {
        while (true)
        {
            var result = await input.ReadAsync(deadline).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (HttpRequestParser.TryParse(ref buffer, request, _options.MaxRequestHeadBytes, out var rejection))
            {
                input.AdvanceTo(buffer.Start);
                return RequestRejection.None;
            }
            if (rejection != RequestRejection.None)
            {
                input.AdvanceTo(buffer.Start);
                return rejection;
            }
            if (result.IsCompleted)
            {
                // Nothing, or only the empty lines a client may send after a body (RFC 9112 2.2): a clean close.
                // Else a head cut off by the client's end, refused like any other (as a head alone to a HEAD).
                request.RefusedHeadWasHead = HttpRequestParser.BeginsWithHead(buffer);
                bool clean = HttpRequestParser.IsOnlyEmptyLines(buffer);
                input.AdvanceTo(buffer.End);
                return clean ? null : RequestRejection.InvalidRequestLine;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// Serves one request. Usually the returned task is complete: the response went out, and its result says whether
    /// the connection stays open. When the handler has put its change in the hub's order and now only waits for the
    /// store (<see cref="HttpExchange.MarkOrdered"/>), it returns at once with the rest still running, so that the
    /// next pipelined request can join the same commit; responses keep the order of the requests regardless
    /// (<paramref name="answered"/>: the earlier ones).
    /// </summary>
    private async ValueTask<Task<bool>> ServeAsync(ClientConnection client, HttpRequest request, CancellationTokenSource deadline, Task<bool> answered, CancellationToken stopping)
    {
        // Every refusal here comes before the body is read (and before any 100 Continue): the body, if any, is left
        // unread, so the connection closes after the answer. Only a pipelined route with a body it may read goes on
        // while earlier requests wait for the store; anything else waits for their answers first.
        var match = _router.Match(request.MethodString, request.PathString);
        bool overlaps = !answered.IsCompleted && match.Pipelined && request.ContentLength <= _options.MaxRequestBodyBytes;
        if (!overlaps && !await answered.ConfigureAwait(false))
        {
            return answered; // an earlier response closed the connection: this request is not served
        }
        // From here every refusal below comes after the earlier answers went out (an overlapping request has a
        // handler and a body it may read), so it is sent at once.
        if (match.Handler is null)
        {
            bool keepAlive = request.KeepAlive && !request.HasBody;
            var response = !HttpSyntax.IsStandardMethod(request.MethodString)
                ? HttpResponseWriter.Error(501, "not_implemented", "the method is not one the hub implements", keepAlive, omitBody: false)
                : match.PathExists
                ? HttpResponseWriter.Error(405, "method_not_allowed", "method not allowed", keepAlive, [new("Allow", match.AllowedMethods!)], request.IsHead)
                : HttpResponseWriter.Error(404, "not_found", "no such endpoint", keepAlive, omitBody: request.IsHead);
            return await AnswerWithoutHandlerAsync(client, response, keepAlive).ConfigureAwait(false);
        }
        if (request.ContentLength > _options.MaxRequestBodyBytes)
        {
            return await AnswerWithoutHandlerAsync(client, HttpResponseWriter.Error(413, "too_large", BodyTooLargeMessage, keepAlive: false, omitBody: request.IsHead), keepAlive: false).ConfigureAwait(false);
        }

        HttpExchange exchange;
        try
        {
            if (request.ExpectsContinue)
            {
                // RFC 9110 10.1.1: the client waits for 100 before sending the body. The handler asks for the body once
                // it knows it will serve the request (after authentication); a refusal goes out at once instead.
                exchange = new HttpExchange(client, request, () => ContinueAndReadBodyAsync(client, request, deadline), match.Values, stopping) { Responses = Responses };
            }
            else
            {
                var body = await ReadBodyAsync(client.Input, request, deadline.Token).ConfigureAwait(false);
                deadline.CancelAfter(Timeout.InfiniteTimeSpan);
                exchange = new HttpExchange(client, request, body, match.Values, stopping, answered) { Responses = Responses };
            }
        }
        catch (RequestBodyRejectedException ex)
        {
            return await AnswerWithoutHandlerAsync(client, RejectionResponse(ex.Rejection, request.IsHead), keepAlive: false).ConfigureAwait(false);
        }

        ValueTask handling;
        try
        {
            handling = match.Handler(exchange);
        }
        catch (Exception ex)
        {
            handling = ValueTask.FromException(ex);
        }
        var finishing = FinishAsync(exchange, handling, deadline);
        if (!finishing.IsCompleted && !exchange.Ordered)
        {
            await WhenAnsweredAsync(finishing).ConfigureAwait(false);
        }
        return finishing;
    }

    /// <summary>A response made before any handler ran (404, 405, 413, a rejected body).</summary>
    private async ValueTask<Task<bool>> AnswerWithoutHandlerAsync(ClientConnection client, byte[] response, bool keepAlive)
    {
        await SendResponseAsync(client, response).ConfigureAwait(false);
        return Task.FromResult(keepAlive);
    }

    /// <summary>The rest of a request once its handler runs: errors become statuses, then the response goes out in order.</summary>
    private async Task<bool> FinishAsync(HttpExchange exchange, ValueTask handling, CancellationTokenSource deadline)
    {
        var request = exchange.Request;
        try
        {
            await handling.ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex)
        {
            // docs/protocol.md section 10.6: nothing was stored or published; the producer may try again later.
            if (_refusals.TryPass(_time.GetUtcNow(), out long heldBack))
            {
                if (heldBack == 0)
                {
                    _logger.LogWarning("request {Method} {Path} refused: {Reason} (such refusals are logged once every 10 s at most)", request.MethodString, request.PathString, ex.Message);
                }
                else
                {
                    _logger.LogWarning("request {Method} {Path} refused: {Reason} ({HeldBack} more refused since the last such line)", request.MethodString, request.PathString, ex.Message, heldBack);
                }
            }
            exchange.CloseAfterResponse();
            if (!exchange.ResponseStarted)
            {
                await exchange.RespondErrorAsync(503, "unavailable", ex.Message, RetryAfterHeader.OneSecond).ConfigureAwait(false);
            }
        }
        catch (RequestBodyRejectedException ex)
        {
            exchange.CloseAfterResponse();
            if (!exchange.ResponseStarted)
            {
                await exchange.RespondAsync(RequestRejectionStatus.ToStatusCode(ex.Rejection), "application/json", HttpErrorBody.Create(RejectionCode(ex.Rejection), RejectionMessage(ex.Rejection))).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not (IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException))
        {
            _logger.LogError(ex, "request {Method} {Path} failed", request.MethodString, request.PathString);
            exchange.CloseAfterResponse();
            if (!exchange.ResponseStarted)
            {
                await exchange.RespondErrorAsync(500, "internal", "internal error").ConfigureAwait(false);
            }
        }
        if (!exchange.ResponseStarted)
        {
            await exchange.RespondAsync(204, null, default).ConfigureAwait(false);
        }
        bool keepAlive = await exchange.SendHeldResponseAsync().ConfigureAwait(false);
        if (exchange.Ordered)
        {
            request.ReturnBuffer(); // the loop moved on to a head of its own
            if (!keepAlive)
            {
                // The loop may be waiting for a next request that will not be served: wake it, to close. RunAsync
                // awaits this task before the source is disposed.
                deadline.Cancel();
            }
        }
        return keepAlive;
    }

    private async ValueTask<ReadOnlyMemory<byte>> ContinueAndReadBodyAsync(ClientConnection client, HttpRequest request, CancellationTokenSource deadline)
    {
        await client.SendAsync(ContinueResponse).ConfigureAwait(false);
        var body = await ReadBodyAsync(client.Input, request, deadline.Token).ConfigureAwait(false);
        deadline.CancelAfter(Timeout.InfiniteTimeSpan);
        return body;
    }

    private Task<ReadOnlyMemory<byte>> ReadBodyAsync(PipeReader input, HttpRequest request, CancellationToken deadline)
    {
        if (request.IsChunked)
        {
            return ReadChunkedBodyAsync(input, deadline);
        }
        return request.ContentLength > 0
            ? ReadFixedBodyAsync(input, (int)request.ContentLength, deadline)
            : Task.FromResult(ReadOnlyMemory<byte>.Empty);
    }

    private static async Task<ReadOnlyMemory<byte>> ReadFixedBodyAsync(PipeReader input, int length, CancellationToken deadline)
    {
        while (true)
        {
            var result = await input.ReadAsync(deadline).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= length)
            {
                var body = buffer.Slice(0, length).ToArray();
                input.AdvanceTo(buffer.GetPosition(length));
                return body;
            }
            if (result.IsCompleted)
            {
                throw new IOException("the request body ended early");
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    // RFC 9112 7.1: the same body limit as Content-Length (413 past it, decided at a chunk's size line, before its
    // data); the trailer section may take as much as a head.
    private async Task<ReadOnlyMemory<byte>> ReadChunkedBodyAsync(PipeReader input, CancellationToken deadline)
    {
        var decoder = new ChunkedBodyDecoder(_options.MaxRequestBodyBytes, _options.MaxRequestHeadBytes);
        var body = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await input.ReadAsync(deadline).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!decoder.TryDecode(ref buffer, body, out var rejection))
            {
                input.AdvanceTo(buffer.Start);
                throw new RequestBodyRejectedException(rejection);
            }
            if (decoder.IsComplete)
            {
                input.AdvanceTo(buffer.Start);
                return body.WrittenMemory;
            }
            if (result.IsCompleted)
            {
                throw new IOException("the request body ended early");
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task<UpgradeRequest?> UpgradeAsync(ClientConnection client, HttpRequest request)
    {
        if (!request.IsGet)
        {
            if (!HttpSyntax.IsStandardMethod(request.MethodString))
            {
                await SendResponseAsync(client, HttpResponseWriter.Error(501, "not_implemented", "the method is not one the hub implements", keepAlive: false)).ConfigureAwait(false);
                return null;
            }
            await SendResponseAsync(client, HttpResponseWriter.Error(405, "method_not_allowed", "use GET to open a WebSocket", keepAlive: false, [new("Allow", "GET")], request.IsHead)).ConfigureAwait(false);
            return null;
        }
        var outcome = WebSocketHandshake.Validate(request, _options.AllowedOrigins);
        if (outcome != HandshakeOutcome.Accepted)
        {
            var (status, code, message, headers) = outcome switch
            {
                HandshakeOutcome.UnsupportedVersion => (426, "upgrade_required", "Sec-WebSocket-Version must be 13", VersionHeader),
                HandshakeOutcome.InvalidKey => (400, "bad_request", "Sec-WebSocket-Key must be base64 of 16 bytes", null),
                HandshakeOutcome.OriginNotAllowed => (403, "forbidden", "origin not allowed", null),
                HandshakeOutcome.HasBody => (400, "bad_request", "a WebSocket handshake has no body (Content-Length above 0, or Transfer-Encoding)", null),
                _ => (400, "bad_request", "expected a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade)", (KeyValuePair<string, string>[]?)null),
            };
            await SendResponseAsync(client, HttpResponseWriter.Error(status, code, message, keepAlive: false, headers)).ConfigureAwait(false);
            return null;
        }

        if (request.QueryRepeats("token") is { } repeated)
        {
            await SendResponseAsync(client, HttpResponseWriter.Error(400, "bad_request", $"the query gives {repeated} more than once", keepAlive: false)).ConfigureAwait(false);
            return null;
        }
        // An empty `?token=` is no token: it must not hide an Authorization header (nor fail as "invalid token").
        string? queryToken = request.QueryParameter("token");
        Span<byte> accept = stackalloc byte[WebSocketHandshake.MaxAcceptResponseLength];
        int length = WebSocketHandshake.WriteAcceptResponse(request.Header(KnownHeader.SecWebSocketKey), accept);
        // The 101 is not sent here: the connection's first send carries it together with the process_list (or the
        // close), one send and one wake-up of the client instead of two (issue 15, reconnect storms).
        var upgrade = new UpgradeRequest(
            string.IsNullOrWhiteSpace(queryToken) ? null : queryToken,
            request.HeaderString(KnownHeader.Authorization),
            request.HeaderString(KnownHeader.Origin),
            client.RemoteEndPoint,
            accept[..length].ToArray());
        request.ReturnBuffer();
        Responses.Count(101); // sent with the connection's first frames (the list or the close)
        return upgrade;
    }

    private byte[] RejectionResponse(RequestRejection rejection, bool omitBody, KnownHeader repeated = default) =>
        HttpResponseWriter.Error(RequestRejectionStatus.ToStatusCode(rejection), RejectionCode(rejection),
            rejection == RequestRejection.RepeatedHeader ? RequestRejectionStatus.RepeatedHeaderMessage(repeated) : RejectionMessage(rejection),
            keepAlive: false, omitBody: omitBody);

    // A body past the limit is told the limit and the option that sets it: "too large" alone leaves a worker guessing
    // how much to cut, and an operator which setting to raise.
    private string BodyTooLargeMessage => $"request body too large: at most {_options.MaxRequestBodyBytes} bytes (--max-body-bytes)";

    private string RejectionMessage(RequestRejection rejection) =>
        rejection == RequestRejection.BodyTooLarge ? BodyTooLargeMessage : RequestRejectionStatus.ToMessage(rejection);

    private static string RejectionCode(RequestRejection rejection) => RequestRejectionStatus.ToStatusCode(rejection) switch
    {
        431 or 413 => "too_large",
        501 => "not_implemented",
        417 => "expectation_failed",
        _ => "bad_request",
    };

    private ValueTask SendResponseAsync(ClientConnection client, byte[] response)
    {
        Responses.CountWritten(response);
        return client.SendAsync(response);
    }

    private async Task RefuseAsync(ClientConnection client, byte[] response, CancellationToken stopping)
    {
        await SendResponseAsync(client, response).ConfigureAwait(false);
        await CloseGracefullyAsync(client, stopping).ConfigureAwait(false);
    }

    /// <summary>
    /// RFC 9112 9.6: after the last response, half-close and read what the client still sends until it closes too (a
    /// bounded time and amount), rather than closing with unread bytes: that would make the kernel send a reset, which
    /// can destroy the response in the client's buffers before it is read (a 413 or 400 lost to "connection reset").
    /// </summary>
    private async Task CloseGracefullyAsync(ClientConnection client, CancellationToken stopping)
    {
        client.ShutdownSend();
        // On the server's clock, like the head timeout.
        using var linger = new CancellationTokenSource(LingerTimeout, _time);
        using var stoppingRegistration = stopping.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), linger);
        long drained = 0;
        try
        {
            while (drained <= MaxLingerBytes)
            {
                var result = await client.Input.ReadAsync(linger.Token).ConfigureAwait(false);
                drained += result.Buffer.Length;
                client.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Time is up, the server is stopping, or the client reset: close either way.
        }
    }
}
