using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Headers;
using System.Text.Json;
using ProcessHub.Client.Internal;

namespace ProcessHub.Client;

/// <summary>
/// A worker's side of the hub: starts processes over the HTTP producer API (docs/protocol.md section 1) and hands
/// back a <see cref="ProcessRun"/> to report on. Requests answered with 502 or 503, or with 429 and a <c>Retry-After</c>,
/// are retried after it, a bounded number of times; a 429 without one (<c>too_many_processes</c>) is not. A request
/// whose connection could not be made (a hub restarting, or its host name gone while its container restarts) is retried
/// the same way, and so is a start that got no answer at all (its Idempotency-Key names the same process). A host name
/// that does not exist before the hub ever answered is a typo, not an outage: the call fails at once. Thread-safe; one per hub is enough.
/// </summary>
/// <example>
/// <code>
/// using var producer = new HubProducer(new Uri("http://127.0.0.1:8501"), token);
/// using var run = await producer.StartAsync("eval", total: 3);
/// for (int i = 1; i &lt;= 3 &amp;&amp; !run.IsCancellationRequested; i++)
/// {
///     await DoShardAsync(i, run.CancellationToken);
///     await run.ReportAsync(i, 3, detail: $"shard {i}");
/// }
/// await run.CompleteAsync();
/// </code>
/// </example>
public sealed class HubProducer : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HubProducerOptions _options;
    private readonly string? _token;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    // Cancelled by Dispose, and linked into every call's waits (a retry's delay, a request in flight, a token being
    // fetched), so that disposing ends them at once with ObjectDisposedException. Never disposed itself: a call that
    // races Dispose must still be able to read its token.
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;
    // Set once any request got an answer: from then on, a host name that stops resolving is an outage (a container
    // restarting, whose name the network's DNS drops meanwhile), not a typo in HubUrl.
    private int _answered;

    /// <summary>A producer for the hub at <paramref name="hubUrl"/> (e.g. <c>http://127.0.0.1:8501</c>) with a fixed token.</summary>
    /// <param name="hubUrl">The hub's absolute http:// or https:// URL.</param>
    /// <param name="token">The JWT to send; white space around it (a file's last newline) is trimmed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="hubUrl"/> or <paramref name="token"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="hubUrl"/> is relative or not http(s), or <paramref name="token"/> is empty or only white space.
    /// </exception>
    public HubProducer(Uri hubUrl, string token)
        : this(new HubProducerOptions { HubUrl = ClientChecks.AbsoluteUrl(hubUrl, nameof(hubUrl), "http", "https"), Token = ClientChecks.Token(token, nameof(token)) })
    {
    }

    /// <summary>A producer with all its options.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or its <see cref="HubProducerOptions.HubUrl"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The URL is relative or not http(s); neither a token nor a token provider is given; or the token is empty or
    /// only white space.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <see cref="HubProducerOptions.MaxRetries"/> is negative, or <see cref="HubProducerOptions.MaxRetryDelay"/> is
    /// not from zero to 49 days; the exception's <c>ParamName</c> names the option (<c>options.MaxRetries</c>).
    /// </exception>
    public HubProducer(HubProducerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ClientChecks.AbsoluteUrl(options.HubUrl, $"{nameof(options)}.{nameof(options.HubUrl)}", "http", "https");
        if (options.Token is null && options.TokenProvider is null)
        {
            throw new ArgumentException("give a Token or a TokenProvider", nameof(options));
        }
        _token = options.Token is null ? null : ClientChecks.Token(options.Token, $"{nameof(options)}.{nameof(options.Token)}");
        if (options.MaxRetries < 0)
        {
            throw ClientChecks.OutOfRange(nameof(options.MaxRetries), options.MaxRetries, "must be 0 (never retry) or more");
        }
        if (options.MaxRetryDelay < TimeSpan.Zero || options.MaxRetryDelay > ClientChecks.LongestWait)
        {
            // Timeout.InfiniteTimeSpan (-1 ms) included: as a cap it made every retry wait for ever.
            throw ClientChecks.OutOfRange(nameof(options.MaxRetryDelay), options.MaxRetryDelay, "must be from zero to 49 days (there is no infinite cap)");
        }
        _options = options;
        _ownsHttp = options.HttpClient is null;
        _http = options.HttpClient ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
    }

    /// <summary>Registers a process (<c>POST /api/processes</c>); its watchers see <c>process_started</c>.</summary>
    /// <param name="processType">What kind of work it is: not empty nor only white space, at most 64 characters.</param>
    /// <param name="total">Steps in all, when known: 0 (unknown) or more.</param>
    /// <param name="parameters">Its <c>params</c>, shown to watchers (a hub with default options takes 16 KiB as serialized).</param>
    /// <param name="owner">
    /// The user it belongs to (not empty nor only white space, at most 256 bytes of UTF-8); only a token with role
    /// <c>producer</c> may name another than its own <c>sub</c>.
    /// </param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ArgumentException">
    /// An argument the hub would refuse with 400, checked before anything is sent: <paramref name="processType"/>,
    /// <paramref name="owner"/>; or <paramref name="parameters"/> is <c>default(JsonElement)</c>, which holds no JSON.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="total"/> is negative.</exception>
    /// <exception cref="HubRequestException">
    /// The hub answered with an error: 400, 401, 403, 413 (<c>params</c> larger than the hub takes), 429
    /// (<c>too_many_processes</c> at once; <c>rate_limited</c> past the retries), 502 or 503 past the retries (after a
    /// 502 from a proxy, without the hub's JSON, the code is <c>http_error</c>); or it answered 201 without a
    /// <c>process_id</c> (code <c>bad_response</c>).
    /// </exception>
    /// <exception cref="HttpRequestException">The hub could not be reached within the retries.</exception>
    /// <exception cref="TaskCanceledException">No answer within the HttpClient's timeout (100 s by default), on every attempt.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed, before the call or while it was pending.</exception>
    /// <remarks>
    /// Each call sends an <c>Idempotency-Key</c> of its own, the same on each of its retries: a start the hub stored but
    /// answered with 503 (a Redis that answered too late, docs/protocol.md 11.4) is named again by the retry instead of
    /// being made twice.
    /// </remarks>
    public async Task<ProcessRun> StartAsync(string processType, long total = 0, JsonElement? parameters = null, string? owner = null, CancellationToken cancellationToken = default)
    {
        // docs/protocol.md 1.4.1: the hub's own rules, so that a mistake is an ArgumentException here, not a 400.
        ClientChecks.Text(processType, ClientChecks.MaxProcessTypeLength, nameof(processType));
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        if (owner is not null)
        {
            ClientChecks.Owner(owner, nameof(owner));
        }
        if (parameters is { } given)
        {
            ClientChecks.Json(given, nameof(parameters));
        }
        string idempotencyKey = Guid.NewGuid().ToString("N");
        var response = await SendAsync(HttpMethod.Post, "/api/processes", JsonBodies.Create(processType, total, parameters, owner), cancellationToken, idempotencyKey).ConfigureAwait(false);
        if (!response.IsSuccess)
        {
            throw response.ToException();
        }
        string processId = JsonFields.String(response.Body, "process_id")
            ?? throw new HubRequestException("bad_response", "the hub's answer has no process_id", response.Status);
        return new ProcessRun(this, processId);
    }

    /// <summary>
    /// A run for a process that is already running: one this worker started before it restarted, or one started
    /// through another hub of the same cluster (docs/protocol.md section 11), whose reports may go to any of them.
    /// Nothing is sent until the first report; a process the hub does not know makes that report throw (404).
    /// </summary>
    /// <param name="processId">The <c>process_id</c> the hub gave when the process was started.</param>
    public ProcessRun Attach(string processId)
    {
        ArgumentException.ThrowIfNullOrEmpty(processId);
        return new ProcessRun(this, processId);
    }

    /// <inheritdoc cref="StartAsync(string, long, JsonElement?, string?, CancellationToken)"/>
    [RequiresUnreferencedCode("serializes parameters by reflection; pass a JsonElement when trimming")]
    [RequiresDynamicCode("serializes parameters by reflection; pass a JsonElement when compiling ahead of time")]
    public Task<ProcessRun> StartAsync(string processType, long total, object? parameters, string? owner = null, CancellationToken cancellationToken = default) =>
        StartAsync(processType, total, JsonBodies.ToElement(parameters), owner, cancellationToken);

    /// <summary>
    /// Ends every call still pending (waiting to retry, a request in flight, a token being fetched) with
    /// <see cref="ObjectDisposedException"/>, and disposes the HttpClient the producer made (not one given in the
    /// options). Later calls throw <see cref="ObjectDisposedException"/> too.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _disposing.Cancel();
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    /// <summary>
    /// One API request, retried on 502, 503, a connection that could not be made, a start without an answer (see
    /// <see cref="IsSafeToSendAgain"/>) and 429 with <c>Retry-After</c>, after it, up to
    /// <see cref="HubProducerOptions.MaxRetries"/> times; <paramref name="idempotencyKey"/>, when given, goes as
    /// <c>Idempotency-Key</c> with every attempt.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The producer was disposed, before the call or while it was pending.</exception>
    internal async Task<ApiResponse> SendAsync(HttpMethod method, string path, byte[]? body, CancellationToken cancellationToken, string? idempotencyKey = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        try
        {
            return await SendWithRetriesAsync(method, path, body, call.Token, idempotencyKey).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException
            && _disposing.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Cancelled by Dispose (or the disposed HttpClient's own exception): said as what it is, not as
            // "The operation was canceled", which reads as the caller's own cancellation.
            throw new ObjectDisposedException(GetType().FullName, "the producer was disposed while the call was pending");
        }
    }

    private async Task<ApiResponse> SendWithRetriesAsync(HttpMethod method, string path, byte[]? body, CancellationToken cancellationToken, string? idempotencyKey)
    {
        // A path in HubUrl (a hub behind a proxy under a prefix) is kept: new Uri(base, "/api/...") would drop it.
        // Built as a path, never as a reference resolved against the base: "//x/api" would name another host.
        var url = new UriBuilder(_options.HubUrl) { Path = _options.HubUrl.AbsolutePath.TrimEnd('/') + path, Query = "" }.Uri;
        bool afterUnavailable = false;
        bool askedAfterRefusal = false;
        for (int retries = 0; ; retries++)
        {
            string token;
            try
            {
                token = _options.TokenProvider is { } provider ? ClientChecks.Provided(await provider(cancellationToken).ConfigureAwait(false)) : _token!;
            }
            catch (HttpRequestException ex) when (NeverLeft(ex) && retries < _options.MaxRetries && !cancellationToken.IsCancellationRequested)
            {
                // A provider that fetches its token from the hub (dev mode's /api/dev-token) cannot while the hub
                // restarts: waited out like the request's own refused connection, instead of ending the call at once.
                await Task.Delay(RetryDelay.For(null, retries, _options.MaxRetryDelay, DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
                continue;
            }
            using var request = new HttpRequestMessage(method, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (idempotencyKey is not null)
            {
                request.Headers.Add("Idempotency-Key", idempotencyKey);
            }
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = Json;
            }
            HttpResponseMessage sent;
            try
            {
                sent = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (retries < _options.MaxRetries && IsSafeToSendAgain(ex, idempotencyKey, cancellationToken))
            {
                // A hub restarting (nothing listening for a few seconds), or a start whose answer was lost: tried again,
                // after 0.5 s doubled per retry, as after a 503. A start lost after the hub had it is named by its key.
                afterUnavailable |= !NeverLeft(ex);
                await Task.Delay(RetryDelay.For(null, retries, _options.MaxRetryDelay, DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
                continue;
            }
            using var response = sent;
            Volatile.Write(ref _answered, 1);
            int status = (int)response.StatusCode;
            if (status == 401 && _options.TokenProvider is not null && !askedAfterRefusal && retries < _options.MaxRetries)
            {
                // A token the hub no longer takes (expired, or signed in a run before a restart: dev tokens die with
                // the run) was not acted on, so the request can go again: once, with what the provider gives now.
                askedAfterRefusal = true;
                continue;
            }
            if (IsWorthRetrying(status, response.Headers.RetryAfter) && retries < _options.MaxRetries)
            {
                afterUnavailable |= status is 502 or 503;
                await Task.Delay(RetryDelay.For(response.Headers.RetryAfter, retries, _options.MaxRetryDelay, DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
                continue;
            }
            byte[] bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new ApiResponse(status, ParseBody(bytes), afterUnavailable);
        }
    }

    // 503 passes (the hub's store or Redis away, a proxy's hiccup). Of the 429s, the hub marks the ones that pass with
    // Retry-After (rate_limited); too_many_processes has none: it lasts until one of the owner's processes ends, and
    // retrying would only delay the answer (docs/protocol.md section 1.4.1).
    // 502 is what a proxy in front answers while the hub behind it restarts (nothing listening there).
    private static bool IsWorthRetrying(int status, RetryConditionHeaderValue? retryAfter) =>
        status is 502 or 503 || (status == 429 && retryAfter is not null);

    /// <summary>
    /// Whether a request that failed without an answer may be sent again. A connection that could not be made sent
    /// nothing: any request. A start carries its Idempotency-Key, so whatever became of the first attempt (a dropped
    /// connection, a timeout), a second names the same process: a start, after any failure to get an answer. Reports
    /// and ends are not sent again once they may have reached the hub (a report twice is two events). A host name
    /// that does not exist while the hub has never answered is not waited out at all.
    /// </summary>
    private bool IsSafeToSendAgain(Exception ex, string? idempotencyKey, CancellationToken cancellationToken) => ex switch
    {
        _ when NeverLeft(ex) => true,
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => false,
        HttpRequestException => idempotencyKey is not null,
        // HttpClient's own timeout (not the caller's cancellation, nor Dispose: the token is linked to both).
        TaskCanceledException => idempotencyKey is not null && !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>
    /// Whether a failure happened before the request left this machine, and is worth waiting out: no connection could be
    /// made (a hub restarting), or the host name did not resolve, unless the name does not exist and the hub has never
    /// answered (a typo in HubUrl, which retries would only make slower to report; `watch` decides the same way).
    /// </summary>
    private bool NeverLeft(Exception ex) => ex switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => true,
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => Volatile.Read(ref _answered) != 0 || !UnresolvedHost.Is(ex),
        _ => false,
    };

    private static JsonElement ParseBody(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return default;
        }
        try
        {
            var reader = new Utf8JsonReader(bytes);
            return JsonElement.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return default; // not the hub's JSON (a proxy's page): the status alone has to do
        }
    }
}
