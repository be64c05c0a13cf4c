using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using ProcessHub.Client.Internal;

namespace ProcessHub.Client;

/// <summary>
/// One process a worker started with <see cref="HubProducer.StartAsync(string, long, JsonElement?, string?, CancellationToken)"/>:
/// report progress, then complete or fail it. When someone cancels it (from a browser tab, <c>watch</c>, the API),
/// the hub answers the next report with 409 and <c>cancel_requested</c>: <see cref="ReportAsync(long, long, string?, string?, CancellationToken)"/>
/// returns true and <see cref="CancellationToken"/> fires, so the worker can stop.
/// </summary>
public sealed class ProcessRun : IDisposable
{
    private readonly HubProducer _producer;
    private readonly CancellationTokenSource _cancelled = new();

    internal ProcessRun(HubProducer producer, string processId)
    {
        _producer = producer;
        ProcessId = processId;
    }

    /// <summary>The process's id.</summary>
    public string ProcessId { get; }

    /// <summary>Fires when a call to the hub learns that the process was cancelled.</summary>
    public CancellationToken CancellationToken => _cancelled.Token;

    /// <summary>True once a call to the hub learned that the process was cancelled.</summary>
    public bool IsCancellationRequested => _cancelled.IsCancellationRequested;

    /// <summary>Reports progress (<c>POST /api/processes/{id}/progress</c>); watchers see <c>process_progress</c>.</summary>
    /// <returns>True when the process was cancelled: stop working (<see cref="CancellationToken"/> has fired too).</returns>
    /// <exception cref="HubRequestException">
    /// The hub refused, or the process had already completed or failed (409 <c>conflict</c>), or the hub no longer knows
    /// it (404 <c>not_found</c>: it runs with <c>--store memory</c> and restarted, or the process ended and left the
    /// retention window). A hub on its durable store keeps running processes across a restart: the next report is
    /// accepted.
    /// </exception>
    /// <exception cref="HttpRequestException">
    /// The hub could not be reached within the retries (a connection refused is tried again, as after a 503: about
    /// 15 s with the default options, which a restarting hub fits in), or the connection failed after the report may
    /// have reached it (not sent again: a report twice is two events).
    /// </exception>
    /// <exception cref="TaskCanceledException">No answer within the HttpClient's timeout (100 s by default).</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed, before the call or while it was pending.</exception>
    /// <exception cref="ArgumentException">
    /// What the hub would refuse with 400, checked before anything is sent: a negative <c>current</c> or <c>total</c>
    /// (<see cref="ArgumentOutOfRangeException"/>), or a progress object that is not a JSON object with both as
    /// non-negative integers (<c>default(JsonElement)</c> included).
    /// </exception>
    public Task<bool> ReportAsync(long current, long total, string? model = null, string? detail = null, CancellationToken cancellationToken = default)
    {
        // docs/protocol.md 1.4.2: both are non-negative integers.
        ArgumentOutOfRangeException.ThrowIfNegative(current);
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return ReportBodyAsync(JsonBodies.Progress(current, total, model, detail), cancellationToken);
    }

    /// <summary>
    /// Reports a progress object of the worker's own: <c>current</c> and <c>total</c> (non-negative integers) are
    /// required, every other field reaches watchers verbatim (at most 4 KiB in all).
    /// </summary>
    /// <inheritdoc cref="ReportAsync(long, long, string?, string?, CancellationToken)"/>
    public Task<bool> ReportAsync(JsonElement progress, CancellationToken cancellationToken = default)
    {
        ClientChecks.Json(progress, nameof(progress));
        CheckProgress(progress);
        return ReportBodyAsync(JsonObjectBytes.Of(progress), cancellationToken);
    }

    /// <summary>Completes the process without a result (<c>POST /api/processes/{id}/complete</c>).</summary>
    /// <returns>False when it had been cancelled first (nothing was completed; <see cref="CancellationToken"/> fires).</returns>
    /// <exception cref="HubRequestException">The hub refused, or the process had already completed or failed (409 <c>conflict</c>).</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed, before the call or while it was pending.</exception>
    public Task<bool> CompleteAsync(CancellationToken cancellationToken = default) =>
        EndAsync("complete", "completed", JsonBodies.Complete(null), cancellationToken);

    /// <summary>Completes the process with a result (JSON, at most 64 KiB) that watchers see in <c>process_completed</c>.</summary>
    /// <inheritdoc cref="CompleteAsync(CancellationToken)"/>
    /// <exception cref="ArgumentException"><paramref name="result"/> is <c>default(JsonElement)</c>, which holds no JSON.</exception>
    public Task<bool> CompleteAsync(JsonElement result, CancellationToken cancellationToken = default)
    {
        ClientChecks.Json(result, nameof(result));
        return EndAsync("complete", "completed", JsonBodies.Complete(result), cancellationToken);
    }

    /// <summary>Completes the process with a result object, serialized by System.Text.Json.</summary>
    /// <inheritdoc cref="CompleteAsync(CancellationToken)"/>
    /// <exception cref="ArgumentException"><paramref name="result"/> is a boxed <c>default(JsonElement)</c>, which holds no JSON.</exception>
    [RequiresUnreferencedCode("serializes the result by reflection; pass a JsonElement when trimming")]
    [RequiresDynamicCode("serializes the result by reflection; pass a JsonElement when compiling ahead of time")]
    public Task<bool> CompleteAsync(object? result, CancellationToken cancellationToken = default)
    {
        var element = JsonBodies.ToElement(result);
        if (element is { } given)
        {
            ClientChecks.Json(given, nameof(result));
        }
        return EndAsync("complete", "completed", JsonBodies.Complete(element), cancellationToken);
    }

    /// <summary>Fails the process (<c>POST /api/processes/{id}/fail</c>); watchers see <c>process_failed</c> with the message and code.</summary>
    /// <param name="message">What went wrong: not empty nor only white space (at most 4 KiB of UTF-8, which the hub checks).</param>
    /// <param name="code">A short code to act on, when there is one: not empty nor only white space, at most 64 characters.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <inheritdoc cref="CompleteAsync(CancellationToken)"/>
    /// <exception cref="ArgumentException"><paramref name="message"/> or <paramref name="code"/> breaks the rule above (the hub's 400), checked before anything is sent.</exception>
    public Task<bool> FailAsync(string message, string? code = null, CancellationToken cancellationToken = default)
    {
        // docs/protocol.md 1.4.4. The message's byte budget is the hub's option, so it is left to the hub to say.
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        if (code is not null)
        {
            ClientChecks.Text(code, ClientChecks.MaxErrorCodeLength, nameof(code));
        }
        return EndAsync("fail", "failed", JsonBodies.Fail(message, code), cancellationToken);
    }

    /// <summary>Releases the cancellation source behind <see cref="CancellationToken"/>.</summary>
    public void Dispose() => _cancelled.Dispose();

    // docs/protocol.md 1.4.2, as the hub reads it: an object whose current and total are integers of 0 or more.
    private static void CheckProgress(JsonElement progress)
    {
        if (progress.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("progress must be a JSON object", nameof(progress));
        }
        foreach (string name in (ReadOnlySpan<string>)["current", "total"])
        {
            if (!progress.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number) || number < 0)
            {
                throw new ArgumentException($"progress.{name} must be an integer from 0 to {long.MaxValue}", nameof(progress));
            }
        }
    }

    private async Task<bool> ReportBodyAsync(byte[] body, CancellationToken cancellationToken)
    {
        if (IsCancellationRequested)
        {
            return true; // the hub would only answer 409 again
        }
        var response = await _producer.SendAsync(HttpMethod.Post, $"/api/processes/{Uri.EscapeDataString(ProcessId)}/progress", body, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccess)
        {
            return false;
        }
        return WasCancelled(response) ? true : throw response.ToException();
    }

    private async Task<bool> EndAsync(string action, string endsAs, byte[] body, CancellationToken cancellationToken)
    {
        var response = await _producer.SendAsync(HttpMethod.Post, $"/api/processes/{Uri.EscapeDataString(ProcessId)}/{action}", body, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccess || IsOwnEndAgain(response, endsAs))
        {
            return true;
        }
        return WasCancelled(response) ? false : throw response.ToException();
    }

    // A 503 that was stored all the same (Redis answered past the timeout), then the retry: 409 with the very end
    // this request asked for. Failing the call would tell the worker its completion was lost when it was not.
    private static bool IsOwnEndAgain(ApiResponse response, string endsAs) =>
        response is { Status: 409, AfterUnavailable: true, Body.ValueKind: JsonValueKind.Object }
        && JsonFields.String(response.Body, "status") == endsAs;

    // docs/protocol.md section 1: once a process has ended, a report gets 409; cancel_requested says it was cancelled.
    private bool WasCancelled(ApiResponse response)
    {
        if (response.Status != 409 || response.Body.ValueKind != JsonValueKind.Object || JsonFields.Bool(response.Body, "cancel_requested") != true)
        {
            return false;
        }
        try
        {
            _cancelled.Cancel();
        }
        catch (AggregateException)
        {
            // A callback of the worker's own on CancellationToken threw (every one has run): the report's answer is
            // still "cancelled", which the exception would have hidden.
        }
        catch (ObjectDisposedException)
        {
            // The run was disposed: nothing listens to its token any more.
        }
        return true;
    }
}
