using System.Globalization;
using System.Text.Json;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;

namespace ProcessHub.Api;

/// <summary>
/// The HTTP producer API for workers in any language (docs/protocol.md section 1). Owners drive their own processes;
/// <c>producer</c> may drive any and set <c>owner</c>; <c>admin</c> may see and cancel any. Changes go through the
/// engine (answered once durable); reads are registry snapshots.
/// </summary>
internal sealed class ProcessesApi
{
    private static readonly byte[] ReportAccepted = """{"cancel_requested":false}"""u8.ToArray();

    // The answer to a repeat of a start with an Idempotency-Key: the same 201, marked (the httpapi draft's name).
    private static readonly KeyValuePair<string, string>[] Replayed = [new("Idempotent-Replayed", "true")];
    private const string AdminMayNotDrive = "an admin may view and cancel any process, not drive it: progress, complete and fail need its owner or role producer";
    private readonly ApiAuthenticator _auth;
    private readonly ProcessRegistry _registry;
    private readonly IProcessEngine _engine;
    private readonly ConnectionLimits _limits;
    private readonly HubOptions _options;
    private readonly CancellationToken _stopping;
    private readonly TimeProvider _time;

    public ProcessesApi(ApiAuthenticator auth, ProcessRegistry registry, IProcessEngine engine, ConnectionLimits limits, HubOptions options, CancellationToken stopping, TimeProvider time)
    {
        _auth = auth;
        _registry = registry;
        _engine = engine;
        _limits = limits;
        _options = options;
        _stopping = stopping;
        _time = time;
    }

    // The changes are pipelined: each is ordered by the engine before it waits for the store (Ordered below), so a
    // worker that pipelines its reports gets several into one commit. The reads wait for the writes before them.
    public void MapTo(Router router) => router
        .Map("POST", "/api/processes", CreateAsync, pipelined: true)
        .Map("GET", "/api/processes", ListAsync)
        .Map("GET", "/api/processes/{id}", GetAsync)
        .Map("POST", "/api/processes/{id}/progress", ProgressAsync, pipelined: true)
        .Map("POST", "/api/processes/{id}/complete", CompleteAsync, pipelined: true)
        .Map("POST", "/api/processes/{id}/fail", FailAsync, pipelined: true)
        .Map("POST", "/api/processes/{id}/cancel", CancelAsync, pipelined: true)
        .Map("GET", "/api/processes/{id}/events", EventsAsync);

    // POST /api/processes {"process_type", "total"?, "owner"?, "params"?} -> 201 {"process_id"}; with an
    // Idempotency-Key, a repeat of the same start by the same caller names the same process (docs/protocol.md 1.4.1)
    private async ValueTask CreateAsync(HttpExchange exchange)
    {
        if (await _auth.AuthenticateAsync(exchange).ConfigureAwait(false) is not { } caller)
        {
            return;
        }
        var request = exchange.Request;
        bool idempotent = request.HasHeader(KnownHeader.IdempotencyKey);
        if (idempotent && !IdempotencyKey.IsValid(request.Header(KnownHeader.IdempotencyKey)))
        {
            await BadRequestAsync(exchange, $"Idempotency-Key must be 1 to {IdempotencyKey.MaxLength} visible ASCII characters").ConfigureAwait(false);
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: false, out var document, out var problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        using var parsed = document;
        var body = parsed.RootElement;
        if (!JsonBody.TryGetOptionalString(body, "process_type", out var processType, out problem)
            || !JsonBody.TryGetOptionalString(body, "owner", out var owner, out problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        if (processType is null)
        {
            await BadRequestAsync(exchange, $"process_type is required (a string of at most {FieldLimits.MaxProcessTypeLength} characters)").ConfigureAwait(false);
            return;
        }
        if (FieldLimits.HasMoreCharactersThan(processType, FieldLimits.MaxProcessTypeLength))
        {
            await BadRequestAsync(exchange, $"process_type must be at most {FieldLimits.MaxProcessTypeLength} characters").ConfigureAwait(false);
            return;
        }
        if (owner is not null && FieldLimits.IsLongerThanAUserName(owner))
        {
            await BadRequestAsync(exchange, $"owner must be a string of at most {FieldLimits.MaxOwnerBytes} bytes").ConfigureAwait(false);
            return;
        }
        // As wide as progress.total (a worker counting bytes starts with its file's size), and checked the same way.
        long total = 0;
        if (body.TryGetProperty("total", out var totalElement) && totalElement.ValueKind != JsonValueKind.Null)
        {
            if (!ProgressJson.IsCount(totalElement))
            {
                await BadRequestAsync(exchange, ProgressJson.CountProblem("total", totalElement)).ConfigureAwait(false);
                return;
            }
            total = totalElement.GetInt64();
        }
        owner ??= caller.Subject;
        if (owner != caller.Subject && !caller.IsProducer && !caller.IsAdmin)
        {
            await exchange.RespondErrorAsync(403, "forbidden", "only a producer or an admin may start a process for another owner").ConfigureAwait(false);
            return;
        }
        byte[]? parameters;
        try
        {
            parameters = ProgressJson.Params(body.TryGetProperty("params", out var paramsElement) ? paramsElement : null, _options.MaxParamsBytes, namesChecked: true);
        }
        catch (ArgumentException ex)
        {
            // A payload, like a result: 413 (docs/protocol.md section 8).
            await exchange.RespondErrorAsync(413, "too_large", ProblemText.Of(ex)).ConfigureAwait(false);
            return;
        }
        var start = new ProcessStart(processType, owner, parameters, ProgressJson.Create(0, total, null, null), InProcess: false);
        try
        {
            if (!idempotent)
            {
                var started = await Ordered(exchange, _engine.StartAsync(start)).ConfigureAwait(false);
                await exchange.RespondJsonAsync(201, new { process_id = started.ProcessId }).ConfigureAwait(false);
                return;
            }
            var key = IdempotencyKey.For(caller.Subject, request.Header(KnownHeader.IdempotencyKey), start);
            var outcome = await Ordered(exchange, _engine.StartIdempotentAsync(start, key)).ConfigureAwait(false);
            await exchange.RespondJsonAsync(201, new { process_id = outcome.ProcessId }, headers: outcome.Replayed ? Replayed : null).ConfigureAwait(false);
        }
        catch (ProcessLimitException ex)
        {
            await RespondTooManyProcessesAsync(exchange, ex).ConfigureAwait(false);
        }
        catch (IdempotencyKeyReusedException ex)
        {
            await exchange.RespondErrorAsync(422, "idempotency_key_reused", ex.Message).ConfigureAwait(false);
        }
    }

    /// <summary>429 <c>too_many_processes</c>: the owner is at <c>--max-processes-per-user</c> running processes.</summary>
    internal static ValueTask RespondTooManyProcessesAsync(HttpExchange exchange, ProcessLimitException refusal) =>
        exchange.RespondErrorAsync(429, "too_many_processes", refusal.Message);

    // GET /api/processes -> the caller's process_list (an admin's is the bounded view a WebSocket gets);
    // GET /api/processes?owner=NAME -> NAME's whole list, for NAME or an admin
    private async ValueTask ListAsync(HttpExchange exchange)
    {
        if (await _auth.AuthenticateAsync(exchange).ConfigureAwait(false) is not { } caller)
        {
            return;
        }
        var listFor = caller;
        int? budget = caller.IsAdmin ? HubMessageWriter.AdminListBudgetBytes : null;
        if (exchange.Request.QueryRepeats("owner") is { } repeated)
        {
            await BadRequestAsync(exchange, $"the query gives {repeated} more than once").ConfigureAwait(false);
            return;
        }
        if (exchange.Request.QueryParameter("owner") is { Length: > 0 } owner)
        {
            if (owner != caller.Subject && !caller.IsAdmin)
            {
                await exchange.RespondErrorAsync(403, "forbidden", "only an admin may list the processes of another owner").ConfigureAwait(false);
                return;
            }
            listFor = new UserIdentity(owner, IsAdmin: false, IsProducer: false, caller.ExpiresAt);
            budget = null; // one owner's list is bounded by the per-user limits: in full, as that owner's own tab gets it
        }
        var frame = HubMessageWriter.ProcessList(_registry.Epoch, _registry.SnapshotVisible(listFor), _time.GetUtcNow(), budget, _options.Retention);
        try
        {
            await exchange.RespondAsync(200, "application/json", frame.Payload.ToArray()).ConfigureAwait(false);
        }
        finally
        {
            frame.Release();
        }
    }

    // GET /api/processes/{id} -> the process as in process_list
    private async ValueTask GetAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.View).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        await exchange.RespondAsync(200, "application/json", HubMessageWriter.SnapshotJson(found.Process)).ConfigureAwait(false);
    }

    // POST /api/processes/{id}/progress (body = progress) -> 200 {"cancel_requested": false}, or 409 once ended
    private async ValueTask ProgressAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Drive).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: false, out var document, out var problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        using var parsed = document;
        var progress = parsed.RootElement;
        byte[] progressJson;
        try
        {
            progressJson = ProgressJson.Validate(progress, _options.MaxProgressBytes, namesChecked: true);
        }
        catch (ArgumentException ex)
        {
            await BadRequestAsync(exchange, ex.Message).ConfigureAwait(false);
            return;
        }
        var outcome = await Ordered(exchange, _engine.ApplyAsync(found.Process.ProcessId, ProcessChange.Progress(progressJson))).ConfigureAwait(false);
        if (outcome.Status == TransitionStatus.Accepted)
        {
            // The answer every accepted report gets, made once: this is the ingest path.
            await exchange.RespondAsync(200, "application/json", ReportAccepted).ConfigureAwait(false);
            return;
        }
        await RespondAsync(exchange, outcome, () => new { cancel_requested = false }).ConfigureAwait(false);
    }

    // POST /api/processes/{id}/complete {"result"?}
    private async ValueTask CompleteAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Drive).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: true, out var document, out var problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        using var parsed = document;
        var body = parsed.RootElement;
        byte[]? result;
        try
        {
            result = ProgressJson.Result(body.TryGetProperty("result", out var resultElement) ? resultElement : null, _options.MaxResultBytes, namesChecked: true);
        }
        catch (ArgumentException ex)
        {
            await exchange.RespondErrorAsync(413, "too_large", ProblemText.Of(ex)).ConfigureAwait(false);
            return;
        }
        var outcome = await Ordered(exchange, _engine.ApplyAsync(found.Process.ProcessId, ProcessChange.Complete(result))).ConfigureAwait(false);
        await RespondEndAsync(exchange, found.Process.ProcessId, outcome, "completed").ConfigureAwait(false);
    }

    // POST /api/processes/{id}/fail {"error": {"message", "code"?}}
    private async ValueTask FailAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Drive).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: false, out var document, out var problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        using var parsed = document;
        var body = parsed.RootElement;
        if (!body.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object
            || !JsonBody.TryGetOptionalString(error, "message", out var message, out problem, "error.message") || message is null
            || !JsonBody.TryGetOptionalString(error, "code", out var code, out problem, "error.code"))
        {
            await BadRequestAsync(exchange, problem ?? "error.message is required").ConfigureAwait(false);
            return;
        }
        byte[] errorJson;
        try
        {
            errorJson = ProgressJson.ProducerError(message, code, _options.MaxErrorMessageBytes);
        }
        catch (ArgumentException ex)
        {
            // Strings with a length rule are fields, like progress: 400 (the process keeps running).
            await BadRequestAsync(exchange, ProblemText.Of(ex)).ConfigureAwait(false);
            return;
        }
        var outcome = await Ordered(exchange, _engine.ApplyAsync(found.Process.ProcessId, ProcessChange.Fail(errorJson))).ConfigureAwait(false);
        await RespondEndAsync(exchange, found.Process.ProcessId, outcome, "failed").ConfigureAwait(false);
    }

    // POST /api/processes/{id}/cancel: what cancel_process does over the WebSocket
    private async ValueTask CancelAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Cancel).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        var outcome = await Ordered(exchange, _engine.ApplyAsync(found.Process.ProcessId, ProcessChange.Cancel(found.Caller.Subject))).ConfigureAwait(false);
        await RespondEndAsync(exchange, found.Process.ProcessId, outcome, "cancelled").ConfigureAwait(false);
    }

    // GET /api/processes/{id}/events: SSE, resumable with Last-Event-ID (= seq); the token may come as ?token= for
    // the browser's EventSource, which sends no headers of its own
    private async ValueTask EventsAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.View, acceptQueryToken: true).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        long afterSeq = 0;
        // An empty one is none (the EventSource spec sends no header then; a hand-made client may send it empty).
        if (exchange.Request.HeaderString(KnownHeader.LastEventId) is { Length: > 0 } lastEventId
            && (!long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out afterSeq)))
        {
            await BadRequestAsync(exchange, "Last-Event-ID must be a seq (a non-negative integer)").ConfigureAwait(false);
            return;
        }
        if (afterSeq > found.Process.Seq && !_registry.MayLagBehindClients)
        {
            // Past every seq this process has had, on a hub that no other hub can be ahead of: an id of another
            // process, or of a store restored without --new-epoch. Skipping up to it dropped every later event, the
            // end too, without a word; the stream starts over instead, as without the header (docs/protocol.md 1.4.8).
            afterSeq = 0;
        }
        if (exchange.Request.IsHead)
        {
            // A head alone holds no stream: a monitor's probe is not refused at its user's stream limit.
            await SseStream.RunAsync(exchange, _registry, found.Process.ProcessId, afterSeq, _auth.EndOf(found.Caller), _options.SseKeepAlive, _stopping, _time).ConfigureAwait(false);
            return;
        }
        string subject = found.Caller.Subject;
        if (!await SseStream.TryAdmitAsync(exchange, _limits, subject).ConfigureAwait(false))
        {
            return;
        }
        try
        {
            await SseStream.RunAsync(exchange, _registry, found.Process.ProcessId, afterSeq, _auth.EndOf(found.Caller), _options.SseKeepAlive, _stopping, _time).ConfigureAwait(false);
        }
        finally
        {
            _limits.CloseStream(subject);
        }
    }

    private async ValueTask<Found?> FindAsync(HttpExchange exchange, Permission permission, bool acceptQueryToken = false)
    {
        if (await _auth.AuthenticateAsync(exchange, acceptQueryToken, readBody: false).ConfigureAwait(false) is not { } caller)
        {
            return null;
        }
        string id = exchange.RouteValues["id"];
        // A process another hub started a moment ago may not be applied here yet (docs/protocol.md section 11).
        var found = _registry.Find(id);
        if (found is null)
        {
            switch (await _engine.CatchUpAsync(id).ConfigureAwait(false))
            {
                case CatchUpOutcome.Known:
                    found = _registry.Find(id);
                    break;
                case CatchUpOutcome.Unavailable:
                    await exchange.RespondErrorAsync(503, "unavailable", "the shared engine (Redis) cannot be reached, so this hub cannot look the process up; try again", RetryAfterHeader.OneSecond).ConfigureAwait(false);
                    return null;
            }
        }
        if (found is not { } process)
        {
            await NotFoundAsync(exchange).ConfigureAwait(false);
            return null;
        }
        bool owner = process.Owner == caller.Subject;
        bool allowed = permission switch
        {
            Permission.Drive => owner || caller.IsProducer,
            _ => owner || caller.IsAdmin || caller.IsProducer,
        };
        if (!allowed)
        {
            // An admin sees the process (and may have created it for its owner): "not your process" would not say why.
            await exchange.RespondErrorAsync(403, "forbidden", caller.IsAdmin ? AdminMayNotDrive : "not your process").ConfigureAwait(false);
            return null;
        }
        // Served from here on: a client that sent Expect: 100-continue gets its 100 now, after every refusal above.
        await exchange.ReadBodyAsync().ConfigureAwait(false);
        return new Found(caller, process);
    }

    /// <summary>
    /// The engine call that orders a change, made: when the engine orders on call and the change now only waits for
    /// the store, the connection may serve a pipelined request meanwhile (<see cref="HttpExchange.MarkOrdered"/>), so
    /// that one commit carries several producers' requests, not one per connection.
    /// </summary>
    private ValueTask<T> Ordered<T>(HttpExchange exchange, ValueTask<T> call)
    {
        if (!call.IsCompleted && _engine.OrdersOnCall)
        {
            exchange.MarkOrdered();
        }
        return call;
    }

    private static ValueTask RespondEndAsync(HttpExchange exchange, string processId, TransitionOutcome outcome, string status) =>
        RespondAsync(exchange, outcome, () => new { process_id = processId, status });

    /// <summary>
    /// The one mapping from an engine outcome to a response: 200 with <paramref name="accepted"/>'s body; 409 once the
    /// process has ended, with <c>cancel_requested</c> true when it was cancelled (that is how an HTTP worker learns
    /// to stop); 404 when it is gone.
    /// </summary>
    private static ValueTask RespondAsync<T>(HttpExchange exchange, TransitionOutcome outcome, Func<T> accepted)
    {
        switch (outcome.Status)
        {
            case TransitionStatus.Accepted:
                return exchange.RespondJsonAsync(200, accepted());
            case TransitionStatus.AlreadyEnded:
                var status = outcome.State!.Status;
                string text = HubMessageWriter.StatusText(status);
                // A worker whose process the hub ended (stale, hub_restarted, hub_lost) never failed it itself: the
                // failure's own code and message say why its reports are refused.
                JsonElement? failure = status == ProcessStatus.Failed && outcome.State.ErrorJson is { } errorJson
                    ? JsonSerializer.Deserialize<JsonElement>(errorJson)
                    : null;
                if (failure is not { } processError)
                {
                    return exchange.RespondJsonAsync(409, new
                    {
                        error = new { code = "conflict", message = $"the process has already ended ({text})" },
                        status = text,
                        cancel_requested = status == ProcessStatus.Cancelled,
                    });
                }
                string? failureCode = processError.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String ? code.GetString() : null;
                return exchange.RespondJsonAsync(409, new
                {
                    error = new { code = "conflict", message = $"the process has already ended ({text}{(failureCode is null ? "" : $": {failureCode}")})" },
                    status = text,
                    cancel_requested = false,
                    process_error = processError,
                });
            default:
                return NotFoundAsync(exchange);
        }
    }

    private static ValueTask NotFoundAsync(HttpExchange exchange) => exchange.RespondErrorAsync(404, "not_found", "no such process");

    private static ValueTask BadRequestAsync(HttpExchange exchange, string message) =>
        exchange.RespondErrorAsync(400, "bad_request", message);

    private enum Permission
    {
        View,
        Drive,
        Cancel,
    }

    private sealed record Found(UserIdentity Caller, ProcessSnapshot Process);
}
