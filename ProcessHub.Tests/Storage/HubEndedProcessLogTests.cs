using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// What the hub ends by itself is said in its log: a process of a worker that went silent (stale), and those whose
/// producer lived inside the last run (hub_restarted). No producer asked for either, so nothing else would tell the
/// operator why a run failed.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class HubEndedProcessLogTests
{
    [Test]
    public async Task A_process_ended_as_stale_is_logged_with_its_id_and_the_limit()
    {
        using var data = new DataDirectory();
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var hub = DurableHub.Start(data, new HubOptions { StaleAfter = TimeSpan.FromMinutes(10) }, time, loggers: loggers);
        var quiet = (await hub.App.Engine.StartAsync(new ProcessStart("export", "alice", null, ProgressJson.Create(0, 3, null, null), InProcess: false))).ProcessId;

        time.Advance(TimeSpan.FromMinutes(10));
        hub.App.Timers.Sweep();

        string expected = $"process {quiet} ended as stale: no report for 600 s (--stale-after)";
        await Eventually.HoldsAsync(() => logs.Lines.Any(line => line.Contains(expected, StringComparison.Ordinal)), "the stale end logged");
        Assert.That(hub.App.Registry.Find(quiet)!.Value.IsEnded, Is.True);
    }

    [Test]
    public async Task Processes_of_the_last_run_ended_as_hub_restarted_are_counted_in_the_log()
    {
        using var data = new DataDirectory();
        await using (var first = DurableHub.Start(data))
        {
            first.App.Producer.Start("benchmark", "alice", total: 5);
            first.App.Producer.Start("benchmark", "bob", total: 5);
        }
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));

        await using var second = DurableHub.Start(data, loggers: loggers);

        Assert.That(logs.Lines, Has.Some.Contains("processes whose producer ran inside the last run of the hub ended as hub_restarted: 2"));
    }
}
