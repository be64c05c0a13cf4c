using System.Text.Json;
using ProcessHub.Auth;
using ProcessHub.Http;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Runners;

namespace ProcessHub.Api;

/// <summary>
/// <c>POST /api/benchmark</c>: starts a benchmark process owned by the caller. With <c>Accept: text/event-stream</c>
/// the response is that process's SSE stream (the seed's "current state"); otherwise <c>202 {"process_id"}</c>.
/// Closing the stream does not cancel the run.
/// </summary>
internal sealed class BenchmarkApi
{
    private readonly ApiAuthenticator _auth;
    private readonly ProcessRegistry _registry;
    private readonly ProcessProducer _producer;
    private readonly BenchmarkRunner _runner;
    private readonly ConnectionLimits _limits;
    private readonly TimeSpan _keepAlive;
    private readonly CancellationToken _stopping;
    private readonly TimeProvider _time;

    public BenchmarkApi(ApiAuthenticator auth, ProcessRegistry registry, ProcessProducer producer, BenchmarkRunner runner, ConnectionLimits limits, TimeSpan keepAlive, CancellationToken stopping, TimeProvider time)
    {
        _limits = limits;
        _auth = auth;
        _registry = registry;
        _producer = producer;
        _runner = runner;
        _keepAlive = keepAlive;
        _stopping = stopping;
        _time = time;
    }

    public void MapTo(Router router) => router.Map("POST", "/api/benchmark", StartAsync);

    private async ValueTask StartAsync(HttpExchange exchange)
    {
        if (await _auth.AuthenticateAsync(exchange).ConfigureAwait(false) is not { } caller)
        {
            return;
        }
        if (!JsonBody.TryParseObject(exchange.Body, allowEmpty: false, out var document, out var problem))
        {
            await exchange.RespondErrorAsync(400, "bad_request", problem!).ConfigureAwait(false);
            return;
        }
        // The body is the run's params; a copy of its own, so that the parser's pooled buffer goes back now and not
        // when a stream that may last hours ends.
        JsonElement body;
        using (document)
        {
            body = document.RootElement.Clone();
        }
        if (!BenchmarkPlan.TryParse(body, out var plan, out problem))
        {
            await exchange.RespondErrorAsync(400, "bad_request", problem!).ConfigureAwait(false);
            return;
        }

        // A stream is admitted before the run starts: a refused stream (503/429) starts nothing.
        bool streaming = exchange.Request.Accepts("text/event-stream"u8);
        if (streaming && !await SseStream.TryAdmitAsync(exchange, _limits, caller.Subject).ConfigureAwait(false))
        {
            return;
        }
        try
        {
            await StartAsync(exchange, caller, body, plan, streaming).ConfigureAwait(false);
        }
        finally
        {
            if (streaming)
            {
                _limits.CloseStream(caller.Subject);
            }
        }
    }

    private async ValueTask StartAsync(HttpExchange exchange, UserIdentity caller, JsonElement body, BenchmarkPlan plan, bool streaming)
    {
        ProcessHandle process;
        try
        {
            process = await _producer.StartAsync("benchmark", caller.Subject, plan.TotalSteps, body).ConfigureAwait(false);
        }
        catch (ProcessLimitException ex)
        {
            await ProcessesApi.RespondTooManyProcessesAsync(exchange, ex).ConfigureAwait(false);
            return;
        }
        catch (ArgumentException ex) when (ex.ParamName == "parameters")
        {
            // The whole body is the run's params, which have the params limit (docs/protocol.md section 1.6).
            await exchange.RespondErrorAsync(413, "too_large", $"the request body is the params of the run: {ProblemText.Of(ex)}").ConfigureAwait(false);
            return;
        }
        if (streaming)
        {
            // The runner starts once the stream follows the process: started first, a fast run could push its first
            // events out of the bounded history before the stream's replay, and the stream would begin mid-way.
            int runnerStarted = 0;
            void StartRunner()
            {
                if (Interlocked.Exchange(ref runnerStarted, 1) == 0)
                {
                    _ = _runner.StartAsync(process, plan);
                }
            }
            try
            {
                await SseStream.RunAsync(exchange, _registry, process.ProcessId, afterSeq: 0, _auth.EndOf(caller), _keepAlive, _stopping, _time, StartRunner).ConfigureAwait(false);
            }
            finally
            {
                StartRunner(); // the client left before the stream began: the run goes on regardless
            }
            return;
        }
        _ = _runner.StartAsync(process, plan);
        await exchange.RespondJsonAsync(202, new { process_id = process.ProcessId }).ConfigureAwait(false);
    }
}
