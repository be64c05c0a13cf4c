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

    [Test]
    public async Task A_store_that_cannot_write_logs_its_refusals_once_every_10_s_with_how_many_it_held_back()
    {
        // A full disk refuses every request, and workers retry every second: a warning each filled the log.
        using var data = new DataDirectory();
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var connectionClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var hub = DurableHub.Start(data, maxPageCount: 12, loggers: loggers, connectionTime: connectionClock);
        string token = hub.Token("alice");
        var created = await RawHttpClient.PostAsync(hub.EndPoint, "/api/processes", token, """{"process_type":"export","total":100000}""");
        string id = created.Json.GetProperty("process_id").GetString()!;
        string padding = new('x', 2000);
        int current = 0;
        HttpReply reply;
        while ((reply = await ReportAsync(++current)).Status == 200)
        {
            Assert.That(current, Is.LessThan(1000), "the capped database never filled up");
        }
        for (int i = 0; i < 5; i++)
        {
            Assert.That((await ReportAsync(current)).Status, Is.EqualTo(503));
        }
        var refusals = () => logs.Lines.Where(line => line.Contains(" refused: ", StringComparison.Ordinal)).ToList();
        Assert.That(refusals(), Has.Count.EqualTo(1), string.Join("\n", refusals()));

        connectionClock.Advance(TimeSpan.FromSeconds(10));
        Assert.That((await ReportAsync(current)).Status, Is.EqualTo(503));

        Assert.That(refusals(), Has.Count.EqualTo(2));
        Assert.That(refusals()[1], Does.Contain("(5 more refused since the last such line)"));

        Task<HttpReply> ReportAsync(int at) =>
            RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{id}/progress", token, $$"""{"current":{{at}},"total":100000,"detail":"{{padding}}"}""");
    }

    [Test]
    public async Task A_data_directory_the_hub_creates_is_its_owners_only()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("Unix permissions");
            return;
        }
        using var data = new DataDirectory();
        string created = Path.Combine(data.Path, "made-by-the-hub");
        await using var store = new ProcessHub.Storage.SqliteProcessStore(new ProcessHub.Storage.SqliteStoreOptions { DataDirectory = created }, 100, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        store.Open(_ => { });

        Assert.That(File.GetUnixFileMode(created), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute),
            "params, results and errors are kept as sent: other users of the machine must not read them");
    }
}
