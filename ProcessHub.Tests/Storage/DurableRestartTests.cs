using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessHub.Hub;
using ProcessHub.Storage;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// The durable store across restarts of a real hub (docs/protocol.md section 10): the same epoch, every process and
/// its events as they were sent, seqs that go on, HTTP-driven processes that keep running, in-process ones that end
/// with hub_restarted; retention and history keep the file bounded; stale processes end.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class DurableRestartTests
{
    private static readonly byte[] Result = Encoding.UTF8.GetBytes("""{"accuracy":0.91}""");

    [Test]
    public async Task A_restart_keeps_the_epoch_the_processes_and_their_events_byte_for_byte()
    {
        using var data = new DataDirectory();
        var seen = new Dictionary<(string, long), byte[]>();
        string epoch, http, inProcess, completed, cancelled;
        int port;
        HubProducer? producer = null;
        ProcessRun? worker = null;
        try
        {
            await using (var hub = DurableHub.Start(data))
            {
                epoch = hub.Epoch;
                port = hub.EndPoint.Port;
                await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: hub.Token("alice"));
                Assert.That((await tab.ReceiveAsync()).Type, Is.EqualTo("process_list"));

                // A worker over HTTP; no retries, so a refused report fails the test instead of being retried out of sight.
                producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{hub.EndPoint}"), Token = hub.Token("alice"), MaxRetries = 0 });
                worker = await producer.StartAsync("export", total: 5);
                http = worker.ProcessId;
                for (int i = 1; i <= 3; i++)
                {
                    Assert.That(await worker.ReportAsync(i, 5, detail: $"part {i}"), Is.False, $"report {i} accepted");
                }
                var run = await hub.App.Producer.StartAsync("benchmark", "alice", total: 4, parameters: new { models = new[] { "GPT-4o" } });
                inProcess = run.ProcessId;
                await run.ReportProgressAsync(1, 4, "GPT-4o", "Kontext 5K – größer");
                var done = await hub.App.Producer.StartAsync("eval", "alice", total: 1);
                completed = done.ProcessId;
                await done.CompleteAsync(new { accuracy = 0.91 });
                var stopped = await hub.App.Producer.StartAsync("eval", "alice", total: 1);
                cancelled = stopped.ProcessId;
                await stopped.CancelAsync("alice");

                // Everything the tab was sent, up to the last event.
                while (true)
                {
                    var message = await tab.ReceiveAsync();
                    seen[(message.ProcessId!, message.Seq)] = message.Raw;
                    if (message.ProcessId == cancelled && message.IsTerminal)
                    {
                        break;
                    }
                }
            }
            Assert.That(seen, Has.Count.EqualTo(4 + 2 + 2 + 2));

            await using (var hub = DurableHub.Start(data, port: port))
            {
                Assert.That(hub.Epoch, Is.EqualTo(epoch), "a reopened store keeps its epoch");
                await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: hub.Token("alice"));
                var list = await tab.ReceiveAsync();
                Assert.That(list.Type, Is.EqualTo("process_list"));
                Assert.That(list.String("epoch"), Is.EqualTo(epoch));
                var processes = list.Get("processes").EnumerateArray().ToDictionary(p => p.GetProperty("process_id").GetString()!);
                Assert.That(processes.Keys, Is.EquivalentTo(new[] { http, inProcess, completed, cancelled }));
                Assert.That(processes[http].GetProperty("status").GetString(), Is.EqualTo("running"), "a process driven over HTTP outlives the hub");
                Assert.That(processes[http].GetProperty("seq").GetInt64(), Is.EqualTo(4));
                Assert.That(processes[inProcess].GetProperty("status").GetString(), Is.EqualTo("failed"), "its producer died with the hub");
                Assert.That(processes[inProcess].GetProperty("error").GetProperty("code").GetString(), Is.EqualTo("hub_restarted"));
                Assert.That(processes[inProcess].GetProperty("seq").GetInt64(), Is.EqualTo(3));
                Assert.That(processes[completed].GetProperty("result").GetRawText(), Is.EqualTo(Encoding.UTF8.GetString(Result)));
                Assert.That(processes[cancelled].GetProperty("cancelled_by").GetString(), Is.EqualTo("alice"));

                // subscribe ... since 0 with the epoch: every event again, the very bytes the first run sent.
                foreach (var (processId, sent) in new[] { (http, 4L), (inProcess, 2L), (completed, 2L), (cancelled, 2L) })
                {
                    await tab.SendJsonAsync(new { type = "subscribe", process_id = processId, since = 0, epoch, request_id = processId });
                    var reply = await tab.ReceiveUntilAsync(m => m.Type == "subscribed" && m.String("request_id") == processId);
                    Assert.That(reply.Get("recovered").GetBoolean(), Is.True, processId);
                    long replayed = reply.Get("replayed").GetInt64();
                    for (long seq = 1; seq <= replayed; seq++)
                    {
                        var again = await tab.ReceiveAsync();
                        Assert.That((again.ProcessId, again.Seq), Is.EqualTo((processId, seq)));
                        if (seq <= sent)
                        {
                            Assert.That(again.Raw, Is.EqualTo(seen[(processId, seq)]), $"{processId} seq {seq} replays byte for byte");
                        }
                        else
                        {
                            Assert.That(again.Type, Is.EqualTo("process_failed"), "the in-process run's end, decided at the restart");
                            Assert.That(again.Get("error").GetProperty("code").GetString(), Is.EqualTo("hub_restarted"));
                        }
                    }
                }

                // SSE Last-Event-ID across the restart: the same bytes in the data lines.
                using (var sse = await SseClient.GetAsync(hub.EndPoint, $"/api/processes/{http}/events", hub.Token("alice"), lastEventId: "1"))
                {
                    Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
                    for (long seq = 2; seq <= 4; seq++)
                    {
                        var sent = await sse.ReadEventAsync();
                        Assert.That(sent.Id, Is.EqualTo(seq));
                        Assert.That(Encoding.UTF8.GetBytes(sent.Data), Is.EqualTo(seen[(http, seq)]));
                    }
                }

                // The worker goes on, unaware of the restart (same address): its next report is accepted as seq 5, live to the tab.
                Assert.That(await worker!.ReportAsync(4, 5), Is.False, "the worker's first report after the restart is accepted");
                var live = await tab.ReceiveUntilAsync(m => m.ProcessId == http);
                Assert.That(live.Seq, Is.EqualTo(5));
                Assert.That(hub.App.Registry.Find(http)!.Value.Seq, Is.EqualTo(5));
            }
        }
        finally
        {
            worker?.Dispose();
            producer?.Dispose();
        }
    }

    [Test]
    public async Task A_new_store_gets_a_new_epoch_and_a_reopened_one_keeps_it()
    {
        using var first = new DataDirectory();
        using var second = new DataDirectory();
        string a, b;
        await using (var hub = DurableHub.Start(first))
        {
            a = hub.Epoch;
        }
        await using (var hub = DurableHub.Start(second))
        {
            b = hub.Epoch;
        }
        Assert.That(a, Is.Not.EqualTo(b));
        await using (var hub = DurableHub.Start(first))
        {
            Assert.That(hub.Epoch, Is.EqualTo(a));
        }
        File.Delete(first.Database);
        await using (var hub = DurableHub.Start(first))
        {
            Assert.That(hub.Epoch, Is.Not.EqualTo(a), "a store that was reset is a new epoch");
        }
    }

    [Test]
    public async Task A_new_epoch_after_a_restore_keeps_the_processes_and_their_workers_go_on()
    {
        // A backup taken at seq 2 and restored after clients saw seq 3: under the old epoch a client holding 3 would
        // take the restored hub's next seq 3 (other content) as one it has. A new epoch makes it take the list afresh.
        using var data = new DataDirectory();
        string epoch, id, backup = Path.Combine(Path.GetTempPath(), $"processhub-backup-{Guid.NewGuid():N}");
        await using (var hub = DurableHub.Start(data))
        {
            string token = hub.Token("alice");
            id = (await RawHttpClient.PostAsync(hub.EndPoint, "/api/processes", token, """{"process_type":"export","total":4}""")).Json.Str("process_id");
            await RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{id}/progress", token, """{"current":1,"total":4}""");
            epoch = hub.Epoch;
        }
        try
        {
            Directory.CreateDirectory(backup);
            File.Copy(data.Database, Path.Combine(backup, Path.GetFileName(data.Database)));
            await using (var hub = DurableHub.Start(data))
            {
                await RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{id}/progress", hub.Token("alice"), """{"current":2,"total":4}""");
            }
            File.Copy(Path.Combine(backup, Path.GetFileName(data.Database)), data.Database, overwrite: true);

            await using (var restored = DurableHub.Start(data, configure: options => options with { NewEpoch = true }))
            {
                string token = restored.Token("alice");
                var process = (await RawHttpClient.GetAsync(restored.EndPoint, $"/api/processes/{id}", token)).Json;
                var report = await RawHttpClient.PostAsync(restored.EndPoint, $"/api/processes/{id}/progress", token, """{"current":3,"total":4}""");

                Assert.That(restored.Epoch, Is.Not.EqualTo(epoch), "a new epoch");
                Assert.That(process.Str("status"), Is.EqualTo("running"));
                Assert.That(process.Long("seq"), Is.EqualTo(2), "the backup's state");
                Assert.That(report.Status, Is.EqualTo(200), "the worker goes on: " + report);
                epoch = restored.Epoch;
            }
            await using (var again = DurableHub.Start(data))
            {
                Assert.That(again.Epoch, Is.EqualTo(epoch), "the new epoch is kept by the starts after it");
            }
        }
        finally
        {
            Directory.Delete(backup, recursive: true);
        }
    }

    [Test]
    public async Task History_beyond_the_limit_and_processes_past_retention_leave_the_file()
    {
        using var data = new DataDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new HubOptions { HistoryLimit = 10, Retention = TimeSpan.FromMinutes(15), StaleAfter = TimeSpan.Zero };
        string kept, expired;
        await using (var hub = DurableHub.Start(data, options, time))
        {
            var run = await hub.App.Producer.StartAsync("export", "alice", total: 50);
            kept = run.ProcessId;
            for (int i = 1; i <= 50; i++)
            {
                await run.ReportProgressAsync(i, 50);
            }
            var old = await hub.App.Producer.StartAsync("export", "alice", total: 1);
            expired = old.ProcessId;
            await old.CompleteAsync();
            Assert.That(EventsIn(data, kept), Is.EqualTo(Enumerable.Range(42, 10).Select(i => (long)i)), "only the last 10 events of 51 are kept");

            time.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(1));
            await run.ReportProgressAsync(50, 50); // keeps the first process fresh; the ended one is past retention
            hub.App.Timers.Sweep();
            await Eventually.HoldsAsync(() => !ProcessIds(data).Contains(expired), "the expired process leaving the file");
        }
        await using (var hub = DurableHub.Start(data, options, time))
        {
            Assert.That(hub.App.Registry.Find(expired), Is.Null);
            var process = hub.App.Registry.Find(kept)!.Value;
            Assert.That(process.Status, Is.EqualTo(ProcessStatus.Failed), "started in process: ended at the restart");
            Assert.That(process.Seq, Is.EqualTo(53));
        }
    }

    [Test]
    public async Task History_past_the_limit_leaves_the_file_in_runs_and_a_restart_replays_exactly_the_limit()
    {
        // Limit 160: a process may keep 10 rows past it (a sixteenth); one more, and its oldest, down to 160, go in
        // one run with that commit.
        const int Limit = 160;
        int slack = SqliteProcessStore.HistorySlack(Limit);
        Assert.That(slack, Is.EqualTo(10));
        using var data = new DataDirectory();
        var options = new HubOptions { HistoryLimit = Limit, StaleAfter = TimeSpan.Zero };
        string id;
        long seq = 1;
        await using (var hub = DurableHub.Start(data, options))
        {
            id = (await hub.App.Engine.StartAsync(new ProcessStart("export", "alice", null, ProgressJson.Create(0, 1000, null, null), InProcess: false))).ProcessId;
            await ReportAsync(hub, Limit + slack - 1);
            Assert.That(EventsIn(data, id), Is.EqualTo(Range(1, seq)), "the limit and the slack: none pruned yet");
            await ReportAsync(hub, 1);
            Assert.That(EventsIn(data, id), Is.EqualTo(Range(seq - Limit + 1, seq)), "one more: the oldest 11 went in one run");
            await ReportAsync(hub, slack - 2);
            Assert.That(EventsIn(data, id), Is.EqualTo(Range(seq - Limit - slack + 3, seq)));
        }
        await using (var hub = DurableHub.Start(data, options))
        {
            // The file holds more than the limit; a replay is the last 160, as the history limit says.
            await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: hub.Token("alice"));
            await tab.ReceiveAsync();
            await tab.SendJsonAsync(new { type = "subscribe", process_id = id, since = 0, epoch = hub.Epoch, request_id = "r" });
            var reply = await tab.ReceiveUntilAsync(m => m.Type == "subscribed");
            Assert.That(reply.Get("replayed").GetInt64(), Is.EqualTo(Limit));
            Assert.That((await tab.ReceiveAsync()).Seq, Is.EqualTo(seq - Limit + 1), "the replay starts 160 events before the last");

            // The rows past the limit are still the process's own after the restart (not strays, deleted at once):
            // they go when the process passes limit and slack again.
            await ReportAsync(hub, 2);
            Assert.That(EventsIn(data, id), Is.EqualTo(Range(seq - Limit - slack + 1, seq)), "the limit and the slack again");
            await ReportAsync(hub, 1);
            Assert.That(EventsIn(data, id), Is.EqualTo(Range(seq - Limit + 1, seq)));
        }

        async Task ReportAsync(DurableHub hub, int reports)
        {
            for (int i = 0; i < reports; i++)
            {
                seq++;
                await hub.App.Engine.ApplyAsync(id, ProcessChange.Progress(ProgressJson.Create((int)seq, 1000, null, null)));
            }
        }

        static List<long> Range(long first, long last) => [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i)];
    }

    [Test]
    public async Task Processes_driven_together_all_get_back_to_their_history_limit()
    {
        // 40 processes at one pace pass limit and slack in the same commit or close together: their 440 deletes go
        // with it and the commits after (512 a commit at least), in order of id, and every process is back at its limit.
        const int Limit = 160;
        using var data = new DataDirectory();
        var options = new HubOptions { HistoryLimit = Limit, StaleAfter = TimeSpan.Zero };
        await using var hub = DurableHub.Start(data, options);
        var ids = new List<string>();
        for (int p = 0; p < 40; p++)
        {
            ids.Add((await hub.App.Engine.StartAsync(new ProcessStart("export", "alice", null, ProgressJson.Create(0, 1000, null, null), InProcess: false))).ProcessId);
        }
        for (int k = 1; k <= Limit + 11; k++)
        {
            await Task.WhenAll(ids.Select(id => hub.App.Engine.ApplyAsync(id, ProcessChange.Progress(ProgressJson.Create(k, 1000, null, null))).AsTask()));
        }
        await Task.WhenAll(ids.Select(id => hub.App.Engine.ApplyAsync(id, ProcessChange.Progress(ProgressJson.Create(1000, 1000, null, null))).AsTask()));

        foreach (var id in ids)
        {
            var kept = EventsIn(data, id);
            Assert.That(kept.Count, Is.InRange(Limit, Limit + 2), id);
            Assert.That(kept[^1], Is.EqualTo(Limit + 13), id);
        }
    }

    [Test]
    public async Task A_process_without_a_report_for_the_stale_limit_fails_as_stale()
    {
        using var data = new DataDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var hub = DurableHub.Start(data, new HubOptions { StaleAfter = TimeSpan.FromMinutes(10) }, time);
        await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: hub.Token("alice"));
        await tab.ReceiveAsync();
        var quiet = (await hub.App.Engine.StartAsync(new ProcessStart("export", "alice", null, ProgressJson.Create(0, 3, null, null), InProcess: false))).ProcessId;
        var busy = (await hub.App.Engine.StartAsync(new ProcessStart("export", "alice", null, ProgressJson.Create(0, 3, null, null), InProcess: false))).ProcessId;
        // The tab has read everything before the clock jumps: a queue caught mid-drain by a jump of minutes would
        // look stalled to the slow-consumer sweep, which runs on the same clock.
        await tab.ReceiveUntilAsync(m => m.ProcessId == busy);

        time.Advance(TimeSpan.FromMinutes(9));
        await hub.App.Engine.ApplyAsync(busy, ProcessChange.Progress(ProgressJson.Create(1, 3, null, null)));
        await tab.ReceiveUntilAsync(m => m.ProcessId == busy);
        hub.App.Timers.Sweep();
        Assert.That(hub.App.Registry.Find(quiet)!.Value.IsEnded, Is.False, "9 minutes of silence is not stale yet");

        time.Advance(TimeSpan.FromMinutes(1));
        hub.App.Timers.Sweep();
        var failed = await tab.ReceiveUntilAsync(m => m.ProcessId == quiet && m.IsTerminal);
        Assert.That(failed.Type, Is.EqualTo("process_failed"));
        Assert.That(failed.Get("error").GetProperty("code").GetString(), Is.EqualTo("stale"));
        Assert.That(hub.App.Registry.Find(busy)!.Value.IsEnded, Is.False, "a process that reported 1 minute ago is not stale");

        var late = await hub.App.Engine.ApplyAsync(quiet, ProcessChange.Progress(ProgressJson.Create(2, 3, null, null)));
        Assert.That(late.Status, Is.EqualTo(TransitionStatus.AlreadyEnded), "a producer that comes back too late learns it ended");
    }

    [Test]
    public async Task A_second_hub_on_the_same_directory_is_refused_with_a_clear_message()
    {
        using var data = new DataDirectory();
        await using var first = DurableHub.Start(data);
        var refused = Assert.Throws<StoreOpenException>(() => DurableHub.Start(data))!;
        Assert.That(refused.Message, Does.Contain("another ProcessHub is using the data directory"));
    }

    [Test]
    public void A_file_that_is_not_a_database_is_refused_with_a_clear_message()
    {
        using var data = new DataDirectory();
        File.WriteAllBytes(data.Database, Encoding.ASCII.GetBytes(new string('x', 8192)));
        var refused = Assert.Throws<StoreOpenException>(() => DurableHub.Start(data))!;
        Assert.That(refused.Message, Does.Contain("corrupt or not a ProcessHub database"));
        Assert.That(refused.Message, Does.Contain(data.Database));
    }

    [TestCase("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", "it holds tables ProcessHub does not make: users")]
    [TestCase("CREATE TABLE processes (id INTEGER PRIMARY KEY, cmd TEXT)", "it holds only some of ProcessHub's tables: processes")]
    [TestCase("CREATE TABLE meta (k TEXT); CREATE TABLE processes (x); CREATE TABLE events (y)", "its meta table has no ProcessHub schema")]
    [TestCase("PRAGMA application_id = 1234; CREATE TABLE events (y)", "its header names another application, id 1234")]
    public void A_SQLite_file_of_another_program_is_refused_and_left_as_it_was(string made, string said)
    {
        // Taken for an empty store, such a file got ProcessHub's tables and rows beside its own; one with a table named
        // like ours had columns added to it, and then the start failed with a raw "no such column" (from an audit).
        using var data = new DataDirectory();
        string before;
        using (var other = new SqliteConnection($"Data Source={data.Database};Pooling=False"))
        {
            other.Open();
            using var create = other.CreateCommand();
            create.CommandText = made;
            create.ExecuteNonQuery();
            before = Describe(other);
        }
        byte[] bytesBefore = File.ReadAllBytes(data.Database);

        var refused = Assert.Throws<StoreOpenException>(() => DurableHub.Start(data))!;

        Assert.That(refused.Message, Is.EqualTo($"the database {data.Database} is not a ProcessHub database ({said}); move it away to start with an empty store, or use another --data-dir"));
        // Byte for byte: the hub's connection switched such a file to write-ahead logging before it read the file's
        // tables, which is written in the header for good (found by an audit).
        Assert.That(File.ReadAllBytes(data.Database), Is.EqualTo(bytesBefore), "not one byte of the other program's file is changed");
        Assert.That(File.Exists(data.Database + "-wal"), Is.False, "no write-ahead log was made for it");
        using var after = new SqliteConnection($"Data Source={data.Database};Pooling=False;Mode=ReadOnly");
        after.Open();
        Assert.That(Describe(after), Is.EqualTo(before), "the other program's file is as it was");
    }

    [Test]
    public async Task A_store_written_before_it_was_marked_as_ProcessHubs_opens_with_its_processes_and_is_marked()
    {
        using var data = new DataDirectory();
        string id;
        await using (var hub = DurableHub.Start(data))
        {
            id = hub.App.Producer.Start("export", "alice").ProcessId;
        }
        using (var unmark = new SqliteConnection($"Data Source={data.Database};Pooling=False"))
        {
            unmark.Open();
            using var command = unmark.CreateCommand();
            command.CommandText = "PRAGMA application_id = 0";
            command.ExecuteNonQuery();
        }

        await using (var reopened = DurableHub.Start(data))
        {
            Assert.That(reopened.App.Registry.Find(id), Is.Not.Null, "the process of the unmarked store");
        }
        using var marked = new SqliteConnection($"Data Source={data.Database};Pooling=False;Mode=ReadOnly");
        marked.Open();
        using var read = marked.CreateCommand();
        read.CommandText = "PRAGMA application_id";
        Assert.That(Convert.ToInt32(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(SqliteSchema.ApplicationId));
    }

    /// <summary>Every object of the file with its SQL, and its header's application id: what a refusal must not change.</summary>
    private static string Describe(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT group_concat(type || ' ' || name || ': ' || ifnull(sql, ''), char(10)) FROM (SELECT * FROM sqlite_schema ORDER BY name), (SELECT 1)";
        string objects = command.ExecuteScalar() as string ?? "";
        command.CommandText = "PRAGMA application_id";
        return $"{objects}\napplication_id {command.ExecuteScalar()}";
    }

    [TestCase("")]
    [TestCase("sub")]
    public void A_data_directory_that_is_a_file_or_under_one_is_refused_naming_the_file(string below)
    {
        // Under a file, .NET said "Could not find a part of the path" of a path whose parts all exist (from an audit).
        using var data = new DataDirectory();
        string file = Path.Combine(data.Path, "a-file");
        File.WriteAllText(file, "not a directory");
        string asked = below.Length == 0 ? file : Path.Combine(file, below);

        var refused = Assert.Throws<StoreOpenException>(() => DurableHub.Start(data, configure: o => o with { DataDirectory = asked }))!;

        Assert.That(refused.Message, Is.EqualTo($"cannot create the data directory {asked}: {file} is a file, not a directory; use another --data-dir"));
    }

    [TestCase("")]
    [TestCase("sub")]
    public void A_data_directory_that_is_a_link_to_nothing_or_under_one_is_refused_naming_the_link(string below)
    {
        // A link to a volume not mounted yet was said to be "a file" (from a newcomer's audit).
        using var data = new DataDirectory();
        string link = Path.Combine(data.Path, "volume");
        string target = Path.Combine(data.Path, "not-mounted", "data");
        File.CreateSymbolicLink(link, target);
        string asked = below.Length == 0 ? link : Path.Combine(link, below);

        var refused = Assert.Throws<StoreOpenException>(() => DurableHub.Start(data, configure: o => o with { DataDirectory = asked }))!;

        Assert.That(refused.Message, Is.EqualTo($"cannot create the data directory {asked}: {link} is a symbolic link to {target}, which is not a directory that exists (a volume not mounted?); use another --data-dir"));
    }

    [Test]
    public async Task A_store_that_cannot_write_refuses_with_503_and_publishes_nothing_it_did_not_store()
    {
        using var data = new DataDirectory();
        string id;
        var acknowledged = new List<int>();
        // A database capped a few pages above its empty size fails its writes the way a full disk does.
        await using (var hub = DurableHub.Start(data, maxPageCount: 12))
        {
            string token = hub.Token("alice");
            await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: token);
            await tab.ReceiveAsync();
            var created = await RawHttpClient.PostAsync(hub.EndPoint, "/api/processes", token, """{"process_type":"export","total":100000}""");
            Assert.That(created.Status, Is.EqualTo(201), created.ToString());
            id = created.Json.GetProperty("process_id").GetString()!;
            string padding = new('x', 2000);
            HttpReply reply;
            int current = 0;
            while (true)
            {
                current++;
                reply = await RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{id}/progress", token, $$"""{"current":{{current}},"total":100000,"detail":"{{padding}}"}""");
                if (reply.Status != 200)
                {
                    break;
                }
                acknowledged.Add(current);
                Assert.That(current, Is.LessThan(1000), "the capped database never filled up");
            }
            Assert.That(reply.Status, Is.EqualTo(503), reply.ToString());
            Assert.That(reply.Json.GetProperty("error").GetProperty("code").GetString(), Is.EqualTo("unavailable"));
            Assert.That(reply.Header("Retry-After"), Is.EqualTo("1"));
            Assert.That(hub.Store.Failure, Is.Not.Null);

            var again = await RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{id}/progress", token, """{"current":1,"total":100000}""");
            Assert.That(again.Status, Is.EqualTo(503), "a failed store takes nothing more");

            // The tab got every acknowledged event and nothing else: the refused ones were never published.
            var received = await HubTestHost.DrainWithPingAsync(tab);
            var currents = received.Where(m => m.Type == "process_progress").Select(m => m.Get("progress").GetProperty("current").GetInt32()).ToList();
            Assert.That(currents, Is.EqualTo(acknowledged));
            Assert.That(hub.App.Registry.Find(id)!.Value.Seq, Is.EqualTo(1 + acknowledged.Count));
        }

        await using (var hub = DurableHub.Start(data))
        {
            var process = hub.App.Registry.Find(id)!.Value;
            Assert.That(process.Seq, Is.EqualTo(1 + acknowledged.Count), "what was acknowledged is there after the restart, and no more");
            var next = await hub.App.Engine.ApplyAsync(id, ProcessChange.Progress(ProgressJson.Create(acknowledged.Count + 1, 100000, null, null)));
            Assert.That(next.State!.Seq, Is.EqualTo(2 + acknowledged.Count));
        }
    }

    private static List<long> EventsIn(DataDirectory data, string processId)
    {
        using var connection = new SqliteConnection($"Data Source={data.Database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT e.seq FROM events e JOIN processes p ON p.key = e.process WHERE p.id = $id ORDER BY e.seq";
        command.Parameters.AddWithValue("$id", processId);
        var seqs = new List<long>();
        using var rows = command.ExecuteReader();
        while (rows.Read())
        {
            seqs.Add(rows.GetInt64(0));
        }
        return seqs;
    }

    private static List<string> ProcessIds(DataDirectory data)
    {
        using var connection = new SqliteConnection($"Data Source={data.Database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM processes";
        var ids = new List<string>();
        using var rows = command.ExecuteReader();
        while (rows.Read())
        {
            ids.Add(rows.GetString(0));
        }
        return ids;
    }
}
