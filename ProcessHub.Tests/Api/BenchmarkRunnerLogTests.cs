using Microsoft.Extensions.Logging;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Api;

/// <summary>
/// The benchmark runner says in the hub's log why a run stopped, whichever way it stopped: a cancelled run said
/// nothing, so an operator could not tell it from a runner that hung.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class BenchmarkRunnerLogTests
{
    [Test]
    public async Task A_cancelled_benchmark_run_says_so_in_the_log_with_the_step_it_stopped_at()
    {
        await using var hub = LoggedHub.Start(LogLevel.Information);
        var (app, logs) = (hub.App, hub.Logs);
        string token = app.Tokens.Issue("dana", [], TimeSpan.FromMinutes(5));
        var started = await RawHttpClient.PostAsync(app.LocalEndPoint, "/api/benchmark", token, """{"models":["m"],"runs":1000,"contexts":["1K"],"step_ms":1000}""");
        Assert.That(started.Status, Is.EqualTo(202), started.ToString());
        string id = started.Json.GetProperty("process_id").GetString()!;
        await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(app.LocalEndPoint, $"/api/processes/{id}", token)).Json,
            process => process.GetProperty("seq").GetInt64() >= 2, "the run's first step reported");

        // Steps of a second: the cancel lands in a step's wait (the runner's token ends it), not in the microseconds
        // between a wait and its report, where the report finds the process ended and says so instead.
        var cancelled = await RawHttpClient.PostAsync(app.LocalEndPoint, $"/api/processes/{id}/cancel", token, body: null);
        Assert.That(cancelled.Status, Is.EqualTo(200), cancelled.ToString());

        await Eventually.HoldsAsync(() => logs.Lines.Any(line => line.Contains($"benchmark {id} stops at step ", StringComparison.Ordinal)), "the runner's line on stopping");
        string said = logs.Lines.Single(line => line.Contains($"benchmark {id} stops at step ", StringComparison.Ordinal));
        Assert.That(said, Does.Match(@"stops at step \d+ of 1000: cancelled"), said);
    }
}
