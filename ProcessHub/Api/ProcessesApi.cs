using System.Globalization;
using System.Text.Json;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;

namespace ProcessHub.Api;

/// <summary>
/// The HTTP producer API for workers in any language (PROTOCOL.md section 1), a thin layer over the in-process
/// <see cref="ProcessProducer"/>. Owners drive their own processes; <c>producer</c> may drive any and set
/// <c>owner</c>; <c>admin</c> may see and cancel any.
/// </summary>
internal sealed class ProcessesApi
{
    private readonly ApiAuthenticator _auth;
    private readonly ProcessRegistry _registry;
    private readonly ProcessProducer _producer;
    private readonly HubOptions _options;
    private readonly TimeSpan _keepAlive;
    private readonly CancellationToken _stopping;

    public ProcessesApi(ApiAuthenticator auth, ProcessRegistry registry, ProcessProducer producer, HubOptions options, TimeSpan keepAlive, CancellationToken stopping)
    {
        _auth = auth;
        _registry = registry;
        _producer = producer;
        _options = options;
        _keepAlive = keepAlive;
        _stopping = stopping;
    }

    public void MapTo(Router router) => router
        .Map("POST", "/api/processes", CreateAsync)
        .Map("GET", "/api/processes", ListAsync)
        .Map("GET", "/api/processes/{id}", GetAsync)
        .Map("POST", "/api/processes/{id}/progress", ProgressAsync)
        .Map("POST", "/api/processes/{id}/complete", CompleteAsync)
        .Map("POST", "/api/processes/{id}/fail", FailAsync)
        .Map("POST", "/api/processes/{id}/cancel", CancelAsync)
        .Map("GET", "/api/processes/{id}/events", EventsAsync);

    // POST /api/processes {"process_type", "total"?, "owner"?, "params"?} -> 201 {"process_id"}
    private async ValueTask CreateAsync(HttpExchange exchange)
    {
        if (await _auth.AuthenticateAsync(exchange).ConfigureAwait(false) is not { } caller)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: false, out var body, out var problem)
            || !JsonBody.TryGetOptionalString(body, "process_type", out var processType, out problem)
            || !JsonBody.TryGetOptionalString(body, "owner", out var owner, out problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        if (processType is null || processType.Length > 64)
        {
            await BadRequestAsync(exchange, "process_type is required (a string of at most 64 characters)").ConfigureAwait(false);
            return;
        }
        int total = 0;
        if (body.TryGetProperty("total", out var totalElement) && totalElement.ValueKind != JsonValueKind.Null
            && (totalElement.ValueKind != JsonValueKind.Number || !totalElement.TryGetInt32(out total) || total < 0))
        {
            await BadRequestAsync(exchange, "total must be a non-negative integer").ConfigureAwait(false);
            return;
        }
        owner ??= caller.Subject;
        if (owner != caller.Subject && !caller.IsProducer && !caller.IsAdmin)
        {
            await exchange.RespondErrorAsync(403, "forbidden", "only a producer may start a process for another owner").ConfigureAwait(false);
            return;
        }
        object? parameters = body.TryGetProperty("params", out var paramsElement) && paramsElement.ValueKind != JsonValueKind.Null ? paramsElement : null;
        var handle = _producer.Start(processType, owner, total, parameters);
        await exchange.RespondJsonAsync(201, new { process_id = handle.ProcessId }).ConfigureAwait(false);
    }

    // GET /api/processes -> the caller's process_list
    private async ValueTask ListAsync(HttpExchange exchange)
    {
        if (await _auth.AuthenticateAsync(exchange).ConfigureAwait(false) is not { } caller)
        {
            return;
        }
        var frame = HubMessageWriter.ProcessList(_registry.Epoch, _registry.SnapshotVisible(caller), DateTimeOffset.UtcNow);
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
        ProcessSnapshot snapshot;
        lock (found.Process.Gate)
        {
            snapshot = ProcessSnapshot.Of(found.Process);
        }
        await exchange.RespondAsync(200, "application/json", HubMessageWriter.SnapshotJson(snapshot)).ConfigureAwait(false);
    }

    // POST /api/processes/{id}/progress (body = progress) -> 200 {"cancel_requested": false}, or 409 once ended
    private async ValueTask ProgressAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Drive).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: false, out var progress, out var problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        ReportResult result;
        try
        {
            result = found.Handle.ReportProgress(progress);
        }
        catch (ArgumentException ex)
        {
            await BadRequestAsync(exchange, ex.Message).ConfigureAwait(false);
            return;
        }
        if (result == ReportResult.Accepted)
        {
            await exchange.RespondJsonAsync(200, new { cancel_requested = false }).ConfigureAwait(false);
            return;
        }
        await RespondEndedAsync(exchange, found.Process).ConfigureAwait(false);
    }

    // POST /api/processes/{id}/complete {"result"?}
    private async ValueTask CompleteAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Drive).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: true, out var body, out var problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        object? result = body.TryGetProperty("result", out var resultElement) && resultElement.ValueKind != JsonValueKind.Null ? resultElement : null;
        ReportResult outcome;
        try
        {
            outcome = found.Handle.Complete(result);
        }
        catch (ArgumentException ex)
        {
            await exchange.RespondErrorAsync(413, "too_large", ex.Message).ConfigureAwait(false);
            return;
        }
        await RespondOutcomeAsync(exchange, found.Process, outcome, "completed").ConfigureAwait(false);
    }

    // POST /api/processes/{id}/fail {"error": {"message", "code"?}}
    private async ValueTask FailAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Drive).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: false, out var body, out var problem))
        {
            await BadRequestAsync(exchange, problem!).ConfigureAwait(false);
            return;
        }
        if (!body.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object
            || !JsonBody.TryGetOptionalString(error, "message", out var message, out problem) || message is null
            || !JsonBody.TryGetOptionalString(error, "code", out var code, out problem))
        {
            await BadRequestAsync(exchange, problem ?? "error.message is required").ConfigureAwait(false);
            return;
        }
        await RespondOutcomeAsync(exchange, found.Process, found.Handle.Fail(message, code), "failed").ConfigureAwait(false);
    }

    // POST /api/processes/{id}/cancel: what cancel_process does over the WebSocket
    private async ValueTask CancelAsync(HttpExchange exchange)
    {
        if (await FindAsync(exchange, Permission.Cancel).ConfigureAwait(false) is not { } found)
        {
            return;
        }
        await RespondOutcomeAsync(exchange, found.Process, found.Handle.Cancel(found.Caller.Subject), "cancelled").ConfigureAwait(false);
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
        if (exchange.Request.HeaderString(KnownHeader.LastEventId) is { } lastEventId
            && (!long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out afterSeq)))
        {
            await BadRequestAsync(exchange, "Last-Event-ID must be a seq (a non-negative integer)").ConfigureAwait(false);
            return;
        }
        await SseStream.RunAsync(exchange, _registry, found.Process, afterSeq, _keepAlive, _stopping).ConfigureAwait(false);
    }

    private async ValueTask<Found?> FindAsync(HttpExchange exchange, Permission permission, bool acceptQueryToken = false)
    {
        if (await _auth.AuthenticateAsync(exchange, acceptQueryToken).ConfigureAwait(false) is not { } caller)
        {
            return null;
        }
        string id = exchange.RouteValues["id"];
        var handle = _producer.Find(id);
        if (handle is null)
        {
            await exchange.RespondErrorAsync(404, "not_found", "no such process").ConfigureAwait(false);
            return null;
        }
        var process = handle.Record;
        bool owner = process.Owner == caller.Subject;
        bool allowed = permission switch
        {
            Permission.View => owner || caller.IsAdmin || caller.IsProducer,
            Permission.Drive => owner || caller.IsProducer,
            _ => owner || caller.IsAdmin || caller.IsProducer,
        };
        if (!allowed)
        {
            await exchange.RespondErrorAsync(403, "forbidden", "not your process").ConfigureAwait(false);
            return null;
        }
        return new Found(caller, handle, process);
    }

    private static async ValueTask RespondOutcomeAsync(HttpExchange exchange, ProcessRecord process, ReportResult outcome, string status)
    {
        if (outcome == ReportResult.Accepted)
        {
            await exchange.RespondJsonAsync(200, new { process_id = process.Id, status }).ConfigureAwait(false);
            return;
        }
        await RespondEndedAsync(exchange, process).ConfigureAwait(false);
    }

    // A terminal state is final: later reports get 409, and a worker learns here that it was cancelled.
    private static ValueTask RespondEndedAsync(HttpExchange exchange, ProcessRecord process)
    {
        ProcessStatus status;
        lock (process.Gate)
        {
            status = process.Status;
        }
        string text = HubMessageWriter.StatusText(status);
        return exchange.RespondJsonAsync(409, new
        {
            error = new { code = "conflict", message = $"the process has already ended ({text})" },
            status = text,
            cancel_requested = status == ProcessStatus.Cancelled,
        });
    }

    private static ValueTask BadRequestAsync(HttpExchange exchange, string message) =>
        exchange.RespondErrorAsync(400, "bad_request", message);

    private enum Permission
    {
        View,
        Drive,
        Cancel,
    }

    private sealed record Found(UserIdentity Caller, ProcessHandle Handle, ProcessRecord Process);
}
