using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ProcessHub.Runners;

/// <summary>
/// The built-in producer behind <c>POST /api/benchmark</c>: walks models x runs x contexts, one simulated model
/// call of about <c>step_ms</c> (jittered +-20%) per step, reporting progress in the seed's form
/// (<c>"Run 2/3, Context 5K"</c>). It stops within one step of a cancel (the wait itself is cancelled) and, with
/// <c>fail_at</c>, fails at that step so failures can be seen and tested.
/// </summary>
internal sealed class BenchmarkRunner
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LogWaitEvery = TimeSpan.FromSeconds(10);
    private const string GoneFromRedis = "the process is gone: this hub's reload from Redis did not find it (Redis lost its data, evicted its keys, or holds a record of it this hub cannot read)";
    private readonly ILogger _logger;

    public BenchmarkRunner(ILogger logger) => _logger = logger;

    /// <summary>Runs in the background; the returned task ends with the process.</summary>
    public Task StartAsync(ProcessHandle process, BenchmarkPlan plan) => Task.Run(() => RunAsync(process, plan));

    private async Task RunAsync(ProcessHandle process, BenchmarkPlan plan)
    {
        var cancel = process.CancellationToken;
        int total = plan.TotalSteps;
        int step = 0;
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            foreach (var model in plan.Models)
            {
                double modelScore = 0;
                for (int run = 1; run <= plan.Runs; run++)
                {
                    foreach (var context in plan.Contexts)
                    {
                        step++;
                        await SimulateModelCallAsync(plan.StepMs, step, cancel).ConfigureAwait(false);
                        if (plan.FailAt == step)
                        {
                            string failure = $"simulated failure at step {step} of {total} ({model}, run {run}, context {context})";
                            await UntilStoredAsync(() => process.FailAsync(failure, "simulated_failure"), process, cancel).ConfigureAwait(false);
                            return;
                        }
                        modelScore += Random.Shared.NextDouble();
                        string detail = string.Create(CultureInfo.InvariantCulture, $"Run {run}/{plan.Runs}, Context {context}");
                        int current = step;
                        string modelName = model;
                        if (await UntilStoredAsync(() => process.ReportProgressAsync(current, total, modelName, detail), process, cancel).ConfigureAwait(false) != Hub.ReportResult.Accepted)
                        {
                            // Cancelled between the wait and the report (or ended by the hub: hub_lost, stale), or gone.
                            _logger.LogInformation("benchmark {ProcessId} stops at step {Step} of {Total}: {Why}", process.ProcessId, current, total,
                                process.IsHeld ? "the process has ended" : GoneFromRedis);
                            return;
                        }
                    }
                }
                scores[model] = Math.Round(modelScore / (plan.Runs * plan.Contexts.Count), 3);
            }
            var completed = await UntilStoredAsync(() => process.CompleteAsync(new { steps = total, scores }), process, cancel).ConfigureAwait(false);
            // Said once its completion returned: until then the runner may still be sending it again (after a
            // 503 whose event was stored all the same), which is not the same as a runner that is done.
            _logger.LogInformation(completed == Hub.ReportResult.Accepted
                ? "benchmark {ProcessId} completed: {Steps} steps"
                : "benchmark {ProcessId} is done after {Steps} steps: the process had already ended", process.ProcessId, total);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested && !process.IsHeld)
        {
            // The token fires for a process that is gone as well: the shared engine's Redis lost its data and the hubs
            // started a new epoch without it. Nobody cancelled it, and the line must not say so.
            _logger.LogInformation("benchmark {ProcessId} stops at step {Step} of {Total}: {Why}", process.ProcessId, step, total, GoneFromRedis);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // cancel_process already marked the process cancelled; stopping is all that is left to do, and saying so:
            // an operator reading why a run stopped finds the same line for every way it can stop.
            _logger.LogInformation("benchmark {ProcessId} stops at step {Step} of {Total}: cancelled", process.ProcessId, step, total);
        }
        catch (Hub.StoreUnavailableException ex) when (ex.HubStopping)
        {
            // Nothing more can be stored; the next start ends the run with hub_restarted, as its tabs are told then.
            _logger.LogInformation("benchmark {ProcessId} stops with the hub", process.ProcessId);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "benchmark {ProcessId} crashed", process.ProcessId);
            await process.FailAsync("the benchmark runner crashed", "internal").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A report the store could not take (a shared engine's Redis away, a full disk: 503 for HTTP workers) is tried again every
    /// second, as a well-behaved worker would, until it is taken or the process is cancelled: the run goes on after
    /// the outage instead of dying of it.
    /// </summary>
    private async Task<Hub.ReportResult> UntilStoredAsync(Func<ValueTask<Hub.ReportResult>> report, ProcessHandle process, CancellationToken cancel)
    {
        // Logged when the wait begins, when its reason changes, and every LogWaitEvery while it lasts: a run that waits
        // for long says so, and why.
        string? loggedReason = null;
        long loggedAt = 0;
        long began = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                var result = await report().ConfigureAwait(false);
                if (loggedReason is not null)
                {
                    _logger.LogInformation("benchmark {ProcessId} goes on after waiting {Seconds:0.0} s for the store", process.ProcessId, Stopwatch.GetElapsedTime(began).TotalSeconds);
                }
                return result;
            }
            catch (Hub.StoreUnavailableException ex) when (!ex.HubStopping)
            {
                if (ex.Message != loggedReason || Stopwatch.GetElapsedTime(loggedAt) >= LogWaitEvery)
                {
                    _logger.LogWarning("benchmark {ProcessId} waits for the store ({Seconds:0} s so far): {Reason}", process.ProcessId, Stopwatch.GetElapsedTime(began).TotalSeconds, ex.Message);
                    loggedReason = ex.Message;
                    loggedAt = Stopwatch.GetTimestamp();
                }
                await Task.Delay(RetryDelay, cancel).ConfigureAwait(false);
            }
        }
    }

    // With step_ms 0 over the memory store every await completes at once: a run of 100,000 steps (the plan's limit)
    // would hold one thread-pool thread from its first step to its last, and a few hundred such runs the whole pool.
    // Every 64 steps it gives its thread back.
    private const int StepsBetweenYields = 64;

    private static Task SimulateModelCallAsync(int stepMs, int step, CancellationToken cancel)
    {
        if (stepMs == 0)
        {
            cancel.ThrowIfCancellationRequested();
            return step % StepsBetweenYields == 0 ? YieldAsync() : Task.CompletedTask;
        }
        double jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return Task.Delay(TimeSpan.FromMilliseconds(stepMs * jitter), cancel);
    }

    private static async Task YieldAsync() => await Task.Yield();
}
