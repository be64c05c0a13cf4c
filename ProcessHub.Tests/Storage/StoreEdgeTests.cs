using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Storage;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// The durable store at the edges of docs/protocol.md section 10: a cancel the store refused, a restart after an
/// outage longer than <c>--stale-after</c>, a start on a store that cannot write what the restart must say, a
/// producer still reporting while the hub stops, and retention while the store refuses or the hub is down. A real hub over a real SQLite file; a failing disk is a trigger that
/// makes every insert of an event fail inside SQLite, as a full disk does.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class StoreEdgeTests
{
    private const string RefuseEvents = "CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(FAIL, 'refused by the test'); END";
    private const string AcceptEvents = "DROP TRIGGER refuse_events";

    [Test]
    public async Task A_cancel_the_store_refused_leaves_the_producer_going_and_one_it_took_tells_it()
    {
        using var data = new DataDirectory();
        await using var hub = DurableHub.Start(data);
        var run = await hub.App.Producer.StartAsync("benchmark", "alice", total: 10);

        await ExecuteAsync(data, RefuseEvents);
        Assert.ThrowsAsync<StoreUnavailableException>(async () => await hub.App.Engine.ApplyAsync(run.ProcessId, ProcessChange.Cancel("alice")));
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.False,
            "the cancel was refused (the tab got error unavailable): the producer must go on, or the process runs on with nobody driving it");
        Assert.That(hub.App.Registry.Find(run.ProcessId)!.Value.IsEnded, Is.False);

        await ExecuteAsync(data, AcceptEvents);
        var cancelled = await Eventually.HoldsAsync(async () =>
        {
            try
            {
                return await hub.App.Engine.ApplyAsync(run.ProcessId, ProcessChange.Cancel("alice"));
            }
            catch (StoreUnavailableException)
            {
                return (TransitionOutcome?)null; // the store refuses for a second after a failed write, then tries again
            }
        }, outcome => outcome is not null, "the cancel taken once the store writes again");
        Assert.That(cancelled!.Value.Status, Is.EqualTo(TransitionStatus.Accepted));
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.True, "a stored cancel tells the producer");
    }

    [Test]
    public async Task A_report_that_comes_while_a_cancel_waits_for_its_commit_is_answered_by_what_the_commit_does()
    {
        // The cancel is taken (in order) but not yet stored when the producer reports. Answered "already ended" at
        // once, the runner stopped; then the commit failed, and the process ran on with nobody driving it.
        using var data = new DataDirectory();
        await using var hub = DurableHub.Start(data, lockTimeout: TestTimeouts.Receive);
        var run = await hub.App.Producer.StartAsync("benchmark", "alice", total: 10);
        Task<TransitionOutcome> cancel;
        Task<ReportResult> report;
        await using (var holder = await WriteLockHolder.TakeAsync(data))
        {
            cancel = hub.App.Engine.ApplyAsync(run.ProcessId, ProcessChange.Cancel("alice")).AsTask();
            await Eventually.HoldsAsync(() => hub.App.Registry.FindRecord(run.ProcessId)!.Accepted.IsEnded, "the cancel taken, waiting for the store");
            report = run.ReportProgressAsync(1, 10).AsTask();
            Assert.That(report.IsCompleted, Is.False, $"answered before the cancel was stored: {(report.IsCompletedSuccessfully ? report.Result : report.Status)}");

            // The commit meets a store that refuses the events.
            await holder.ExecuteAsync(RefuseEvents);
            await holder.CommitAsync();
        }

        Assert.ThrowsAsync<StoreUnavailableException>(async () => await cancel);
        Assert.ThrowsAsync<StoreUnavailableException>(async () => await report, "the report is refused like the cancel: the process runs on, and the producer with it");
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.False);
        Assert.That(hub.App.Registry.Find(run.ProcessId)!.Value.IsEnded, Is.False);
    }

    [Test]
    public async Task After_an_outage_longer_than_the_stale_limit_a_worker_gets_the_whole_limit_again_to_report()
    {
        using var data = new DataDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new HubOptions { StaleAfter = TimeSpan.FromMinutes(10) };
        string id;
        await using (var first = DurableHub.Start(data, options, time))
        {
            id = (await first.App.Engine.StartAsync(new ProcessStart("export", "alice", null, ProgressJson.Create(0, 3, null, null), InProcess: false))).ProcessId;
        }

        // The hub was down for 11 minutes; its worker kept retrying. Silence while no hub ran is not the worker's.
        time.Advance(TimeSpan.FromMinutes(11));
        await using var hub = DurableHub.Start(data, options, time);
        hub.App.Timers.Sweep();
        Assert.That(hub.App.Registry.Find(id)!.Value.IsEnded, Is.False, "ended as stale the moment the hub came back");
        var report = await RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{id}/progress", hub.Token("alice"), """{"current":1,"total":3}""");
        Assert.That(report.Status, Is.EqualTo(200), report.ToString());

        // The limit still holds from the restart on.
        time.Advance(TimeSpan.FromMinutes(10));
        hub.App.Timers.Sweep();
        await Eventually.HoldsAsync(() => hub.App.Registry.Find(id)!.Value.IsEnded, "a process silent for the whole limit after the restart ending as stale");
    }

    [Test]
    public async Task A_producer_inside_the_hub_is_never_taken_for_gone_however_long_it_waits_between_reports()
    {
        using var data = new DataDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var hub = DurableHub.Start(data, new HubOptions { StaleAfter = TimeSpan.FromMinutes(10) }, time);
        // The benchmark runner takes up to 1.2 x step_ms (at most 600 s) between two reports; it ends with the hub.
        var inside = await hub.App.Producer.StartAsync("benchmark", "alice", total: 10);
        string outside = await StartAsync(hub);

        time.Advance(TimeSpan.FromMinutes(11));
        hub.App.Timers.Sweep();
        await Eventually.HoldsAsync(() => hub.App.Registry.Find(outside)!.Value.IsEnded, "the HTTP-driven process ending as stale");
        Assert.That(hub.App.Registry.Find(inside.ProcessId)!.Value.IsEnded, Is.False, "the in-process run taken for gone");
        Assert.That((await inside.ReportProgressAsync(1, 10)), Is.EqualTo(ReportResult.Accepted));
    }

    [Test]
    public async Task A_store_that_cannot_write_at_start_what_a_restart_must_say_stops_the_start_with_a_clear_error_and_lets_go_of_the_directory()
    {
        using var data = new DataDirectory();
        string id;
        await using (var first = DurableHub.Start(data))
        {
            id = (await first.App.Producer.StartAsync("benchmark", "alice", total: 10)).ProcessId;
        }
        await ExecuteAsync(data, RefuseEvents);

        // Its producer lived inside the last run: the restart must end it with hub_restarted, and cannot write that.
        var refused = Assert.Throws<StoreOpenException>(() => DurableHub.Start(data));
        Assert.That(refused!.Message, Does.Contain("cannot write").And.Contain("hub_restarted"));

        await ExecuteAsync(data, AcceptEvents);
        await using var hub = DurableHub.Start(data);
        var state = hub.App.Registry.Find(id)!.Value;
        Assert.That(state.Status, Is.EqualTo(ProcessStatus.Failed), "started once the store writes again, and the run ended as the restart says");
    }

    [Test]
    public async Task A_producer_that_reports_after_the_hub_stopped_is_refused_not_left_waiting()
    {
        using var data = new DataDirectory();
        var hub = DurableHub.Start(data);
        var run = await hub.App.Producer.StartAsync("benchmark", "alice", total: 10);
        await hub.DisposeAsync();

        var report = run.ReportProgressAsync(1, 10).AsTask();
        var finished = await Task.WhenAny(report, Task.Delay(TestTimeouts.Receive));
        Assert.That(finished, Is.SameAs(report), "the report after the stop never got an answer");
        Assert.ThrowsAsync<StoreUnavailableException>(() => report);
    }

    [Test]
    public async Task Stopping_the_store_refuses_producers_that_keep_reporting_instead_of_writing_for_them_until_they_stop()
    {
        // In-process producers that report again as soon as their last report is stored (a benchmark with step_ms 0)
        // kept the writer's queue from ever being empty, and the stop waited on them: every report taken after the
        // stop began was one more the hub wrote before it could stop.
        using var data = new DataDirectory();
        await using var hub = DurableHub.Start(data);
        const int producers = 16;
        var runs = new List<ProcessHandle>();
        for (int i = 0; i < producers; i++)
        {
            runs.Add(await hub.App.Producer.StartAsync("benchmark", "alice", total: 1_000_000));
        }
        int stopping = 0;
        int acceptedAfterStop = 0;
        var running = runs.Select(run => Task.Run(async () =>
        {
            for (int step = 1; ; step++)
            {
                try
                {
                    await run.ReportProgressAsync(step, 1_000_000);
                }
                catch (StoreUnavailableException)
                {
                    return;
                }
                if (Volatile.Read(ref stopping) != 0)
                {
                    Interlocked.Increment(ref acceptedAfterStop);
                }
            }
        })).ToList();
        await Eventually.HoldsAsync(() => hub.Store.Statistics.Commits > 200, "the producers are under way");

        // The stop begins (the store refuses appends from its next drain on) before the count does: counted the other
        // way round, a test thread the machine paused between the two counted every report of that pause.
        var stopped = hub.Store.DisposeAsync().AsTask();
        Volatile.Write(ref stopping, 1);
        await stopped.WaitAsync(TestTimeouts.Receive);
        await Task.WhenAll(running).WaitAsync(TestTimeouts.Receive);

        // Counted per producer after the stop began, at most: a report stored before it whose answer ran after it, the
        // next one, drained by a writer that had looked at the stop flag just before it was set, and one more that raced
        // the writer's closing in (appended as that drain's commit was published). Three each; a stop that waits for
        // producers that keep reporting takes thousands.
        Assert.That(acceptedAfterStop, Is.LessThanOrEqualTo(3 * producers), "reports taken after the stop began");
    }

    [Test]
    public async Task Processes_let_go_while_the_store_refused_still_leave_the_file_once_it_writes_again()
    {
        using var data = new DataDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new HubOptions { Retention = TimeSpan.FromMinutes(15), StaleAfter = TimeSpan.Zero };
        await using var hub = DurableHub.Start(data, options, time);
        string ended = await StartAsync(hub);
        await hub.App.Engine.ApplyAsync(ended, ProcessChange.Complete(null));
        string running = await StartAsync(hub);

        await ExecuteAsync(data, RefuseEvents);
        Assert.ThrowsAsync<StoreUnavailableException>(async () => await hub.App.Engine.ApplyAsync(running, Progress(1)));
        // Within the second after the failed write, while the store refuses: the sweep lets the ended process go.
        time.Advance(TimeSpan.FromMinutes(16));
        hub.App.Timers.Sweep();
        Assert.That(hub.App.Registry.Find(ended), Is.Null);

        await ExecuteAsync(data, AcceptEvents);
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                return (await hub.App.Engine.ApplyAsync(running, Progress(2))).Accepted;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, accepted => accepted, "a report taken once the store writes again");
        // The removal was kept for the first commit that succeeded, not dropped with the refused events.
        await Eventually.HoldsAsync(() => CountAsync(data, $"SELECT count(*) FROM processes WHERE id = '{ended}'"), rows => rows == 0,
            "the let-go process's row leaving the file");
    }

    [Test]
    public async Task Processes_whose_retention_ran_out_while_the_hub_was_down_are_gone_before_anyone_connects()
    {
        using var data = new DataDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new HubOptions { Retention = TimeSpan.FromMinutes(15), StaleAfter = TimeSpan.Zero };
        string ended;
        await using (var first = DurableHub.Start(data, options, time))
        {
            ended = await StartAsync(first);
            await first.App.Engine.ApplyAsync(ended, ProcessChange.Complete(null));
        }

        time.Advance(TimeSpan.FromMinutes(16));
        await using var hub = DurableHub.Start(data, options, time);
        Assert.That(hub.App.Registry.Find(ended), Is.Null, "listed after its retention ran out, until the first sweep");
        await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: hub.Token("alice"));
        var list = await tab.ReceiveAsync();
        Assert.That(list.Get("processes").GetArrayLength(), Is.Zero, list.Text);
    }

    private static ProcessChange Progress(int current) => ProcessChange.Progress(ProgressJson.Create(current, 3, null, null));

    private static async Task<string> StartAsync(DurableHub hub) =>
        (await hub.App.Engine.StartAsync(new ProcessStart("export", "alice", null, ProgressJson.Create(0, 3, null, null), InProcess: false))).ProcessId;

    private static async Task<long> CountAsync(DataDirectory data, string sql)
    {
        await using var connection = Open(data);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static SqliteConnection Open(DataDirectory data) => new(new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(data.Path, "processhub.db"),
        DefaultTimeout = 5,
        Pooling = false,
    }.ToString());

    private static async Task ExecuteAsync(DataDirectory data, string sql)
    {
        await using var connection = Open(data);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000; " + sql;
        await command.ExecuteNonQueryAsync();
    }
}
