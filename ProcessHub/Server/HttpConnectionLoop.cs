using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using ProcessHub.Http;
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
    private readonly ServerOptions _options;
    private readonly Router _router;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public HttpConnectionLoop(ServerOptions options, Router router, ILogger logger, TimeProvider time)
    {
        _options = options;
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
        // The head timeout runs on the server's clock (a linked source could only use the system's), and shutdown
        // cancels it too.
        using var deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var stoppingRegistration = stopping.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), deadline);
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                deadline.CancelAfter(_options.RequestHeadTimeout);
                var rejection = await ReadHeadAsync(client.Input, request, deadline.Token).ConfigureAwait(false);
                if (rejection is null)
                {
                    return null; // the client closed between requests
                }
                if (rejection != RequestRejection.None)
                {
                    await RespondRejectionAsync(client, rejection.Value).ConfigureAwait(false);
                    return null;
                }

                if (request.Path.SequenceEqual("/ws"u8))
                {
                    deadline.CancelAfter(Timeout.InfiniteTimeSpan);
                    return await UpgradeAsync(client, request).ConfigureAwait(false);
                }

                bool keepAlive = await ServeAsync(client, request, deadline, stopping).ConfigureAwait(false);
                request.ReturnBuffer();
                if (!keepAlive || !deadline.TryReset())
                {
                    return null;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The head or body did not arrive in time, or the server is stopping: just close the socket.
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The peer went away.
        }
        finally
        {
            request.ReturnBuffer();
        }
        return null;
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
                input.AdvanceTo(buffer.End);
                return buffer.IsEmpty ? null : RequestRejection.InvalidRequestLine;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task<bool> ServeAsync(ClientConnection client, HttpRequest request, CancellationTokenSource deadline, CancellationToken stopping)
    {
        var match = _router.Match(request.MethodString, request.PathString);
        if (match.Handler is null)
        {
            bool keepAlive = request.KeepAlive && request.ContentLength <= 0;
            var response = match.PathExists
                ? HttpResponseWriter.Error(405, "method_not_allowed", "method not allowed", keepAlive, [new("Allow", match.AllowedMethods!)])
                : HttpResponseWriter.Error(404, "not_found", "no such endpoint", keepAlive);
            await client.SendAsync(response).ConfigureAwait(false);
            return keepAlive;
        }

        if (request.ContentLength > _options.MaxRequestBodyBytes)
        {
            // The body is not read, so the connection cannot be reused.
            await client.SendAsync(HttpResponseWriter.Error(413, "too_large", "request body too large", keepAlive: false)).ConfigureAwait(false);
            return false;
        }

        var body = request.ContentLength > 0
            ? await ReadBodyAsync(client.Input, (int)request.ContentLength, deadline.Token).ConfigureAwait(false)
            : ReadOnlyMemory<byte>.Empty;
        deadline.CancelAfter(Timeout.InfiniteTimeSpan);

        var exchange = new HttpExchange(client, request, body, match.Values, stopping);
        try
        {
            await match.Handler(exchange).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException))
        {
            _logger.LogError(ex, "request {Method} {Path} failed", request.MethodString, request.PathString);
            if (!exchange.ResponseStarted)
            {
                await exchange.RespondErrorAsync(500, "internal", "internal error").ConfigureAwait(false);
            }
            return false;
        }
        if (!exchange.ResponseStarted)
        {
            await exchange.RespondAsync(204, null, default).ConfigureAwait(false);
        }
        return exchange.KeepAlive;
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(PipeReader input, int length, CancellationToken deadline)
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

    private async Task<UpgradeRequest?> UpgradeAsync(ClientConnection client, HttpRequest request)
    {
        if (!request.IsGet)
        {
            await client.SendAsync(HttpResponseWriter.Error(405, "method_not_allowed", "use GET to open a WebSocket", keepAlive: false, [new("Allow", "GET")])).ConfigureAwait(false);
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
                _ => (400, "bad_request", "expected a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade)", (KeyValuePair<string, string>[]?)null),
            };
            await client.SendAsync(HttpResponseWriter.Error(status, code, message, keepAlive: false, headers)).ConfigureAwait(false);
            return null;
        }

        var upgrade = new UpgradeRequest(
            request.QueryParameter("token"),
            request.HeaderString(KnownHeader.Authorization),
            request.HeaderString(KnownHeader.Origin),
            client.RemoteEndPoint);
        var accept = ArrayPool<byte>.Shared.Rent(WebSocketHandshake.MaxAcceptResponseLength);
        int length = WebSocketHandshake.WriteAcceptResponse(request.Header(KnownHeader.SecWebSocketKey), accept);
        request.ReturnBuffer();
        try
        {
            await client.SendAsync(accept.AsMemory(0, length)).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(accept);
        }
        return upgrade;
    }

    private static Task RespondRejectionAsync(ClientConnection client, RequestRejection rejection)
    {
        int status = RequestRejectionStatus.ToStatusCode(rejection);
        string code = status switch { 431 or 413 => "too_large", 501 => "not_implemented", _ => "bad_request" };
        return client.SendAsync(HttpResponseWriter.Error(status, code, RequestRejectionStatus.ToMessage(rejection), keepAlive: false)).AsTask();
    }
}
