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
                        await SimulateModelCallAsync(plan.StepMs, cancel).ConfigureAwait(false);
                        if (plan.FailAt == step)
                        {
                            await process.FailAsync($"simulated failure at step {step} of {total} ({model}, run {run}, context {context})", "simulated_failure").ConfigureAwait(false);
                            return;
                        }
                        modelScore += Random.Shared.NextDouble();
                        string detail = string.Create(CultureInfo.InvariantCulture, $"Run {run}/{plan.Runs}, Context {context}");
                        if (await process.ReportProgressAsync(step, total, model, detail).ConfigureAwait(false) != Hub.ReportResult.Accepted)
                        {
                            return; // cancelled between the wait and the report
                        }
                    }
                }
                scores[model] = Math.Round(modelScore / (plan.Runs * plan.Contexts.Count), 3);
            }
            await process.CompleteAsync(new { steps = total, scores }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // cancel_process already marked the process cancelled; stopping is all that is left to do.
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "benchmark {ProcessId} crashed", process.ProcessId);
            await process.FailAsync("the benchmark runner crashed", "internal").ConfigureAwait(false);
        }
    }

    private static Task SimulateModelCallAsync(int stepMs, CancellationToken cancel)
    {
        if (stepMs == 0)
        {
            cancel.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }
        double jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return Task.Delay(TimeSpan.FromMilliseconds(stepMs * jitter), cancel);
    }
}
