using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessState = ProcessHub.Client.ProcessState;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Cli;
using ProcessHub.Tests.Client;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// The real binary with its default store, killed and restarted (docs/protocol.md section 10): what was acknowledged
/// survives <c>kill -9</c>, replays are byte-identical across restarts, no seq is ever reused with other content,
/// and the start refuses a store it cannot use with a clear message and exit code 1. The kill tests stay on raw
/// clients (they compare replayed frames byte for byte); the SIGTERM restart is seen through the client library.
/// </summary>
[TestFixture]
[Category("process")]
public sealed partial class CrashRecoveryTests
{
    private const string Secret = "crash-recovery-tests: a shared secret of well over 32 bytes";
    private static readonly JsonSerializerOptions Json = new();

    [Test]
    public async Task Killed_at_twenty_random_moments_the_hub_loses_nothing_it_acknowledged([Values(20261130)] int seed)
    {
        using var data = new DataDirectory();
        var random = new Random(seed);
        string token = TokenFor("alice");
        var acknowledged = new ConcurrentDictionary<string, ConcurrentBag<int>>();
        var seen = new ConcurrentDictionary<(string ProcessId, long Seq), byte[]>();
        var conflicts = new ConcurrentBag<string>();
        var processes = new List<string>();
        var nextCurrent = new Dictionary<string, int>();
        string? epoch = null;

        for (int run = 0; run <= 20; run++)
        {
            await using var hub = StartHub(data);
            var endPoint = await ListeningOnAsync(hub);

            await using var tab = await RawWebSocketClient.OpenAsync(endPoint, queryToken: token);
            var list = await tab.ReceiveAsync();
            Assert.That(list.Type, Is.EqualTo("process_list"));
            epoch ??= list.String("epoch");
            Assert.That(list.String("epoch"), Is.EqualTo(epoch), $"run {run}: the epoch survives the kill");
            if (run == 0)
            {
                for (int i = 0; i < 2; i++)
                {
                    var created = await RawHttpClient.PostAsync(endPoint, "/api/processes", token, """{"process_type":"export","total":1000000}""");
                    Assert.That(created.Status, Is.EqualTo(201), created.ToString());
                    string id = created.Json.GetProperty("process_id").GetString()!;
                    processes.Add(id);
                    nextCurrent[id] = 1;
                    acknowledged[id] = [];
                }
            }
            else
            {
                await AssertNothingLostAsync(endPoint, token, epoch!, processes, acknowledged, seen, run);
            }
            Assert.That(conflicts, Is.Empty, "a seq was reused with other content");

            // Tabs record every frame they are sent; a seq sent twice must be the same bytes.
            using var stopTabs = new CancellationTokenSource();
            var recording = RecordAsync(tab, seen, conflicts, stopTabs.Token);

            // The worker reports until the hub dies, alternating processes; what got 200 is acknowledged.
            int reportsBeforeKill = random.Next(1, 40);
            int reports = 0;
            bool first = true;
            while (true)
            {
                string id = processes[reports % processes.Count];
                int current = nextCurrent[id]++;
                HttpReply reply;
                try
                {
                    reply = await RawHttpClient.PostAsync(endPoint, $"/api/processes/{id}/progress", token, $$"""{"current":{{current}},"total":1000000,"run":{{run}}}""");
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or EndOfStreamException)
                {
                    break; // the hub is gone: this report was never acknowledged
                }
                Assert.That(reply.Status, Is.EqualTo(200), $"run {run}: {reply}");
                acknowledged[id].Add(current);
                if (first)
                {
                    first = false; // the worker's first report after a restart was accepted
                }
                if (++reports == reportsBeforeKill)
                {
                    // Kill while the next report is in flight.
                    var inFlight = RawHttpClient.PostAsync(endPoint, $"/api/processes/{processes[reports % processes.Count]}/progress", token, $$"""{"current":{{nextCurrent[processes[reports % processes.Count]]++}},"total":1000000,"run":{{run}}}""");
                    await hub.KillAsync();
                    try
                    {
                        var late = await inFlight;
                        if (late.Status == 200)
                        {
                            acknowledged[processes[reports % processes.Count]].Add(nextCurrent[processes[reports % processes.Count]] - 1);
                        }
                    }
                    catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or EndOfStreamException)
                    {
                        // Not acknowledged: it may or may not have been stored, and nobody may have seen it.
                    }
                    break;
                }
            }
            await stopTabs.CancelAsync();
            await recording;
            if (run == 20)
            {
                break;
            }
        }

        // One last restart: everything again, and the worker goes on.
        await using var last = StartHub(data);
        var final = await ListeningOnAsync(last);
        await AssertNothingLostAsync(final, token, epoch!, processes, acknowledged, seen, run: 21);
        var after = await RawHttpClient.PostAsync(final, $"/api/processes/{processes[0]}/progress", token, $$"""{"current":{{nextCurrent[processes[0]]}},"total":1000000}""");
        Assert.That(after.Status, Is.EqualTo(200), after.ToString());
        Assert.That(conflicts, Is.Empty);
        TestContext.Out.WriteLine($"seed {seed}: {acknowledged.Values.Sum(b => b.Count)} reports acknowledged, {seen.Count} events seen by tabs over 21 kills");
    }

    [Test]
    public async Task After_SIGTERM_a_restart_ends_the_in_process_runs_with_hub_restarted_and_HTTP_processes_go_on()
    {
        using var data = new DataDirectory();
        string token = TokenFor("alice");
        await using var first = StartHub(data);
        var endPoint = await ListeningOnAsync(first);
        // A tab and a worker as users have them: the client library, pointed at one address across the restart.
        await using var tab = new WatchedEvents(new HubWatcher(new HubWatcherOptions
        {
            Url = new Uri($"ws://{endPoint}/ws"),
            Token = token,
            MinReconnectDelay = TimeSpan.FromMilliseconds(50),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
        }));
        await tab.NextAsync<ProcessListed>();
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{endPoint}"), Token = token, MaxRetries = 0 });
        var started = await RawHttpClient.PostAsync(endPoint, "/api/benchmark", token, """{"models":["GPT-4o"],"runs":50,"contexts":["1K","5K"],"step_ms":100}""");
        Assert.That(started.Status, Is.EqualTo(202), started.ToString());
        string benchmark = started.Json.GetProperty("process_id").GetString()!;
        using var worker = await producer.StartAsync("export", total: 3);
        await tab.NextAsync<ProcessProgress>(p => p.ProcessId == benchmark);

        await first.TerminateAsync();
        var dropped = await tab.NextAsync<HubDisconnected>();
        Assert.That((dropped.WasConnected, dropped.CloseStatus), Is.EqualTo((true, (int?)1001)), dropped.ToString());
        Assert.That(dropped.RetryIn, Is.Not.Null, "1001: come back later");
        Assert.That(await first.WaitForExitAsync(), Is.Zero);
        long lastSeenSeq = tab.EventsOf(benchmark).Max(e => e.Seq);

        // The same port: the tab's retries and the worker's next report find the new hub where the old one was.
        await using var second = StartHub(data, port: endPoint.Port);
        Assert.That(await ListeningOnAsync(second), Is.EqualTo(endPoint));

        // The tab resumes from what it saw and learns how the run ended.
        var reconnected = await tab.NextAsync<HubConnected>();
        Assert.That((reconnected.IsReconnect, reconnected.EpochChanged), Is.EqualTo((true, false)), "the store kept the epoch");
        Assert.That(reconnected.Recovered, Is.True);
        var list = await tab.NextAsync<ProcessListed>();
        var listed = list.Processes.ToDictionary(p => p.ProcessId);
        Assert.That(listed[benchmark].Status, Is.EqualTo(ProcessState.Failed));
        Assert.That(listed[benchmark].ErrorCode, Is.EqualTo("hub_restarted"));
        Assert.That(listed[worker.ProcessId].Status, Is.EqualTo(ProcessState.Running));

        var events = tab.EventsOf(benchmark);
        var replayed = events.Where(e => e.IsReplay).ToList();
        Assert.That(events.Select(e => e.Seq), Is.EqualTo(Enumerable.Range(1, events.Count).Select(i => (long)i)), "every seq across the restart, in order, no gap");
        Assert.That(replayed.Select(e => e.Seq), Is.EqualTo(Enumerable.Range((int)lastSeenSeq + 1, replayed.Count).Select(i => (long)i)), "the replay starts after the last seq the tab had");
        Assert.That(replayed, Is.Not.Empty);
        Assert.That(replayed[^1], Is.TypeOf<ProcessFailed>(), replayed[^1].RawJson);
        Assert.That(((ProcessFailed)replayed[^1]).ErrorCode, Is.EqualTo("hub_restarted"));

        Assert.That(await worker.ReportAsync(1, 3), Is.False, "the HTTP worker's next report is accepted");
    }

    [Test]
    public async Task A_report_that_finds_the_hub_restarting_is_sent_again_once_the_hub_is_back()
    {
        // From an audit: a worker written as the README shows died on "Connection refused" while its hub restarted,
        // though a refused connection sent nothing and the hub keeps HTTP-driven processes running.
        using var data = new DataDirectory();
        string token = TokenFor("alice");
        await using var first = StartHub(data);
        var endPoint = await ListeningOnAsync(first);
        var handler = new FailureCountingHandler();
        using var http = new HttpClient(handler);
        // Retries for about half a minute (the default is about 15 s): a loaded machine may take a while to start a hub.
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{endPoint}"), Token = token, HttpClient = http, MaxRetries = 30, MaxRetryDelay = TimeSpan.FromSeconds(1) });
        using var worker = await producer.StartAsync("export", total: 3);
        Assert.That(await worker.ReportAsync(1, 3), Is.False);

        await first.TerminateAsync();
        Assert.That(await first.WaitForExitAsync(), Is.Zero);
        var report = worker.ReportAsync(2, 3);
        await Eventually.HoldsAsync(() => handler.Failures >= 1, "the report meeting a refused connection");
        await using var second = StartHub(data, port: endPoint.Port);
        Assert.That(await ListeningOnAsync(second), Is.EqualTo(endPoint));

        Assert.That(await report, Is.False, "the report is accepted by the hub that came back");
        var process = await RawHttpClient.GetAsync(endPoint, $"/api/processes/{worker.ProcessId}", token);
        Assert.That(process.Json.GetProperty("progress").GetProperty("current").GetInt64(), Is.EqualTo(2), process.ToString());
    }

    [Test]
    public async Task A_corrupt_database_stops_the_start_with_a_clear_message_and_exit_code_1()
    {
        using var data = new DataDirectory();
        await File.WriteAllTextAsync(data.Database, new string('x', 8192));
        await AssertRefusedAsync(StartHub(data), "corrupt or not a ProcessHub database");
    }

    [TestCase("UPDATE processes SET progress = 'text, not a blob'", "its progress is not a blob of UTF-8 JSON that clients can read")]
    [TestCase("UPDATE processes SET params = x'7bff7d'", "its params is not a blob of UTF-8 JSON that clients can read")]
    [TestCase("UPDATE processes SET started_at = 'yesterday'", "its started_at is not a time in ticks")]
    [TestCase("UPDATE processes SET seq = 2.5", "its seq is not a number from 0 up")]
    [TestCase("UPDATE processes SET status = 9", "its status 9 is not one ProcessHub writes")]
    [TestCase("UPDATE events SET payload = x'7bff7d' WHERE seq = 2", "its event 2 (row 2) is not UTF-8 that clients can read")]
    [TestCase(@"UPDATE events SET payload = CAST('{""detail"":""cut \ud83d""}' AS BLOB) WHERE seq = 2", "its event 2 (row 2) is not UTF-8 that clients can read")]
    [TestCase("UPDATE processes SET status = 256", "its status 256 is not one ProcessHub writes")]
    [TestCase("UPDATE processes SET status = 'done'", "its status done is not one ProcessHub writes")]
    [TestCase("UPDATE processes SET progress = CAST('{\"current\":1,' AS BLOB)", "its progress is not a blob of UTF-8 JSON that clients can read")]
    [TestCase("UPDATE events SET kind = 42 WHERE seq = 2", "its event 2 (row 2) is of kind 42, not one ProcessHub writes")]
    public async Task A_row_in_a_form_the_hub_never_writes_stops_the_start_with_a_message_that_names_it(string sql, string expected)
    {
        // Edited by hand or by another program: the start crashed with an InvalidCastException and its stack trace, or
        // (an event that is not UTF-8) started and sent that event to every tab, each of which had to fail its connection.
        using var data = new DataDirectory();
        string id;
        await using (var first = StartHub(data))
        {
            var endPoint = await ListeningOnAsync(first);
            string token = TokenFor("alice");
            var created = await RawHttpClient.PostAsync(endPoint, "/api/processes", token, """{"process_type":"export","params":{"file":"a.csv"}}""");
            Assert.That(created.Status, Is.EqualTo(201), created.ToString());
            id = created.Json.GetProperty("process_id").GetString()!;
            var reported = await RawHttpClient.PostAsync(endPoint, $"/api/processes/{id}/progress", token, """{"current":1,"total":3}""");
            Assert.That(reported.Status, Is.EqualTo(200), reported.ToString());
            await first.TerminateAsync();
            Assert.That(await first.WaitForExitAsync(), Is.Zero);
        }
        await using (var connection = new SqliteConnection($"Data Source={data.Database};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            Assert.That(await command.ExecuteNonQueryAsync(), Is.EqualTo(1), sql);
        }

        await AssertRefusedAsync(StartHub(data), $"holds a row ProcessHub cannot read (process {id}: {expected})");
    }

    [Test]
    public async Task A_port_in_use_stops_the_start_before_the_data_directory_is_made_or_Redis_is_waited_for()
    {
        // The hub made its data directory (and waited up to --redis-start-wait for Redis) and only then found its port
        // taken: an operator who mistyped the port was left with a ./data beside a hub that never ran.
        using var data = new DataDirectory();
        var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            string fresh = Path.Combine(data.Path, "never-made");
            await AssertRefusedAsync(
                HubProcess.Start(["--port", port.ToString(CultureInfo.InvariantCulture), "--jwt-secret", Secret, "--data-dir", fresh], new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() }),
                $"cannot listen on 127.0.0.1:{port}: Address already in use");
            Assert.That(Directory.Exists(fresh), Is.False, "the data directory of a hub that could not listen");

            // A Redis that nothing answers, waited for an hour: the start fails on the port first.
            using var unanswered = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            unanswered.Start();
            int redisPort = ((IPEndPoint)unanswered.LocalEndpoint).Port;
            unanswered.Stop();
            await AssertRefusedAsync(
                HubProcess.Start(["--port", port.ToString(CultureInfo.InvariantCulture), "--jwt-secret", Secret, "--redis", $"127.0.0.1:{redisPort}", "--redis-start-wait", "3600"], new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() }),
                $"cannot listen on 127.0.0.1:{port}: Address already in use");
        }
        finally
        {
            taken.Stop();
        }
    }

    [Test]
    public async Task A_database_locked_by_another_process_stops_the_start_with_a_clear_message_and_exit_code_1()
    {
        using var data = new DataDirectory();
        await using (var hub = StartHub(data))
        {
            await ListeningOnAsync(hub);
            await hub.TerminateAsync();
            await hub.WaitForExitAsync();
        }
        using var holder = new SqliteConnection($"Data Source={data.Database};Pooling=False");
        holder.Open();
        using var exclusive = holder.CreateCommand();
        exclusive.CommandText = "BEGIN EXCLUSIVE";
        exclusive.ExecuteNonQuery();
        await AssertRefusedAsync(StartHub(data), "locked by another process");
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_read_only_database_file_stops_the_start_with_a_clear_message_and_exit_code_1()
    {
        // SQLite opens a file it may not write read-only without a word: the hub started, said "ok", and refused the
        // first event with 503 (from an audit).
        using var data = new DataDirectory();
        await using (var hub = StartHub(data))
        {
            await ListeningOnAsync(hub);
            await hub.TerminateAsync();
            await hub.WaitForExitAsync();
        }
        // As root the hub runs as nobody, for whom the file is read-only and the directory is not.
        var runVia = AsNobodyIfRoot();
        foreach (string file in Directory.GetFiles(data.Path).Where(f => f != data.Database))
        {
            File.Delete(file); // the lock file and any log of the run above, which nobody could not open
        }
        File.SetUnixFileMode(data.Path, (UnixFileMode)0b111_111_111);
        File.SetUnixFileMode(data.Database, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        try
        {
            await AssertRefusedAsync(StartHub(data, runVia), $"cannot write the database {data.Database} (read-only file or directory, or no permission)");
        }
        finally
        {
            File.SetUnixFileMode(data.Database, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetUnixFileMode(data.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_database_files_are_the_owners_only_in_a_directory_that_already_existed()
    {
        // An existing directory keeps its mode (0755 here, as mkdir makes it): the files in it followed the umask and
        // were world-readable, with every process's params, results and errors in them.
        using var data = new DataDirectory();
        File.SetUnixFileMode(data.Path, (UnixFileMode)0b111_101_101);
        await using var hub = StartHub(data);
        var endPoint = await ListeningOnAsync(hub);
        string token = new ProcessHub.Auth.TokenValidator(new ProcessHub.Auth.JwtSettings { Secret = Secret }).Issue("alice", ["producer"], TimeSpan.FromMinutes(5));
        var started = await RawHttpClient.PostAsync(endPoint, "/api/processes", token, """{"process_type":"export"}""");
        Assert.That(started.Status, Is.EqualTo(201), started.ToString());

        var modes = Directory.GetFiles(data.Path, SqliteFileNamePattern).ToDictionary(f => Path.GetFileName(f)!, f => File.GetUnixFileMode(f));

        Assert.That(modes.Keys, Does.Contain(Path.GetFileName(data.Database)).And.Contain(Path.GetFileName(data.Database) + "-wal"));
        Assert.That(modes.Values, Is.All.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), string.Join(", ", modes));
    }

    private const string SqliteFileNamePattern = "processhub.db*";

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_read_only_data_directory_stops_the_start_with_a_clear_message_and_exit_code_1()
    {
        using var data = new DataDirectory();
        var runVia = AsNobodyIfRoot();
        File.SetUnixFileMode(data.Path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            await AssertRefusedAsync(StartHub(data, runVia), "read-only");
        }
        finally
        {
            File.SetUnixFileMode(data.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_data_directory_that_cannot_be_made_in_a_read_only_parent_is_said_so_without_the_runtimes_words()
    {
        // It said "cannot create the data directory ...: Access to the path '...' is denied.", where the table of
        // protocol.md 10.6 promised "(read-only or no permission)" (found by an audit).
        using var parent = new DataDirectory();
        string asked = Path.Combine(parent.Path, "data");
        File.SetUnixFileMode(parent.Path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            await AssertRefusedAsync(StartHub(asked, AsNobodyIfRoot()), $"cannot create the data directory {asked} (read-only or no permission); create it, or use another --data-dir");
        }
        finally
        {
            File.SetUnixFileMode(parent.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_lock_file_this_user_may_not_write_is_named_not_the_writable_directory()
    {
        // A processhub.lock left by another user (0644) in a directory this user may write: it said "cannot write in the
        // data directory (read-only or no permission)", which sent people to a directory that was fine (found by an audit).
        using var data = new DataDirectory();
        string lockFile = Path.Combine(data.Path, "processhub.lock");
        File.WriteAllText(lockFile, "");
        File.SetUnixFileMode(lockFile, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(data.Path, (UnixFileMode)0b111_111_111);
        try
        {
            // As root the hub runs as nobody, for whom root's 0444 file is read-only; as anyone else the file is theirs,
            // and read-only all the same (no write bit for its owner either).
            await AssertRefusedAsync(StartHub(data.Path, AsNobodyIfRoot()), $"cannot open the lock file {lockFile} for writing (read-only or no permission: another user's?)");
        }
        finally
        {
            File.SetUnixFileMode(data.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    // Root writes anywhere: as root the hub runs as nobody, for whom what the test makes read-only is.
    private static string[]? AsNobodyIfRoot() => geteuid() == 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : null;

    private static HubProcess StartHub(DataDirectory data, IReadOnlyList<string>? runVia = null, int port = 0) => StartHub(data.Path, runVia, port);

    private static HubProcess StartHub(string dataDirectory, IReadOnlyList<string>? runVia = null, int port = 0) => HubProcess.Start(
        ["--port", port.ToString(CultureInfo.InvariantCulture), "--jwt-secret", Secret, "--store", "sqlite", "--data-dir", dataDirectory, "--ping-interval", "0", "--history-limit", "100000"],
        new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() },
        runVia);

    private static async Task<IPEndPoint> ListeningOnAsync(HubProcess hub)
    {
        string line = await hub.WaitForLineAsync(l => l.StartsWith("ProcessHub listening on", StringComparison.Ordinal), "the listening line");
        var match = ListeningLine().Match(line);
        return new IPEndPoint(IPAddress.Loopback, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static async Task AssertRefusedAsync(HubProcess hub, string expected)
    {
        await using (hub)
        {
            Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(1), hub.Stderr + hub.Stdout);
            Assert.That(hub.Stderr, Does.Contain(expected));
            Assert.That(hub.Stderr + hub.Stdout, Does.Not.Contain("   at ").And.Not.Contain("Exception"), "a message, not a stack trace");
        }
    }

    private static async Task AssertNothingLostAsync(
        IPEndPoint endPoint,
        string token,
        string epoch,
        List<string> processes,
        ConcurrentDictionary<string, ConcurrentBag<int>> acknowledged,
        ConcurrentDictionary<(string ProcessId, long Seq), byte[]> seen,
        int run)
    {
        await using var tab = await RawWebSocketClient.OpenAsync(endPoint, queryToken: token);
        await tab.ReceiveAsync();
        foreach (string id in processes)
        {
            await tab.SendJsonAsync(new { type = "subscribe", process_id = id, since = 0, epoch, request_id = id });
            var reply = await tab.ReceiveUntilAsync(m => m.Type == "subscribed" && m.String("request_id") == id);
            Assert.That(reply.Get("recovered").GetBoolean(), Is.True, $"run {run}: {id}");
            long count = reply.Get("replayed").GetInt64();
            var currents = new HashSet<int>();
            for (long seq = 1; seq <= count; seq++)
            {
                var message = await tab.ReceiveAsync();
                Assert.That((message.ProcessId, message.Seq), Is.EqualTo((id, seq)), $"run {run}: seqs 1..{count} with no gap");
                if (seen.TryGetValue((id, seq), out var before))
                {
                    Assert.That(message.Raw, Is.EqualTo(before), $"run {run}: {id} seq {seq} is what tabs saw before the kill");
                }
                if (message.Type == "process_progress")
                {
                    currents.Add(message.Get("progress").GetProperty("current").GetInt32());
                }
            }
            var lost = acknowledged[id].Where(c => !currents.Contains(c)).ToList();
            Assert.That(lost, Is.Empty, $"run {run}: acknowledged reports of {id} missing after the kill");
        }
    }

    private static async Task RecordAsync(RawWebSocketClient tab, ConcurrentDictionary<(string, long), byte[]> seen, ConcurrentBag<string> conflicts, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var message = await tab.ReceiveAsync(TimeSpan.FromSeconds(30));
                if (message.IsProcessEvent)
                {
                    var stored = seen.GetOrAdd((message.ProcessId!, message.Seq), message.Raw);
                    if (!stored.AsSpan().SequenceEqual(message.Raw))
                    {
                        conflicts.Add($"{message.ProcessId} seq {message.Seq}: {System.Text.Encoding.UTF8.GetString(stored)} then {message}");
                    }
                }
            }
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException or InvalidOperationException or TimeoutException or IOException)
        {
            // The hub was killed under the tab.
        }
    }

    private static string TokenFor(string subject) =>
        TestTokens.Create(TestTokens.Hs256(Secret), subject: subject, expires: DateTime.UtcNow.AddHours(1));

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
