using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// <c>Idempotency-Key</c> with the SQLite store (docs/protocol.md 1.4.1, section 10): the key is kept in the process's
/// row, so a repeat after a restart of the hub names the same process; a file of schema version 1 opens, keeps its
/// processes and takes keys; a start the store refused does not hold its key; a key goes with its process.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class IdempotencyKeyDurableTests
{
    private const string Body = """{"process_type":"export","total":3,"params":{"file":"a.csv"}}""";

    [Test]
    public async Task A_repeat_after_a_restart_names_the_same_process_and_another_request_is_still_422()
    {
        using var data = new DataDirectory();
        string running, completed;
        await using (var hub = DurableHub.Start(data))
        {
            running = (await StartAsync(hub, "alice", Body, "running-key", expect: 201)).Json.Str("process_id");
            completed = (await StartAsync(hub, "alice", Body, "completed-key", expect: 201)).Json.Str("process_id");
            var complete = await RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{completed}/complete", hub.Token("alice"), "{}");
            Assert.That(complete.Status, Is.EqualTo(200), complete.ToString());
        }

        await using (var hub = DurableHub.Start(data))
        {
            var repeat = await StartAsync(hub, "alice", Body, "running-key", expect: 201);
            var repeatOfEnded = await StartAsync(hub, "alice", Body, "completed-key", expect: 201);
            var reused = await StartAsync(hub, "alice", """{"process_type":"export","total":4}""", "running-key", expect: 422);
            var bobs = await StartAsync(hub, "bob", Body, "running-key", expect: 201);

            Assert.Multiple(() =>
            {
                Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(running));
                Assert.That(repeat.Header("Idempotent-Replayed"), Is.EqualTo("true"));
                Assert.That(repeatOfEnded.Json.Str("process_id"), Is.EqualTo(completed));
                Assert.That(reused.ErrorCode, Is.EqualTo("idempotency_key_reused"));
                Assert.That(bobs.Json.Str("process_id"), Is.Not.EqualTo(running), "the key is alice's, not bob's");
                Assert.That(bobs.Header("Idempotent-Replayed"), Is.Null);
            });
            Assert.That(await CountAsync(hub, "alice"), Is.EqualTo(2), "nothing new for alice");
        }
    }

    [Test]
    public async Task A_file_of_schema_version_1_opens_keeps_its_processes_and_takes_keys()
    {
        using var data = new DataDirectory();
        const string OldProcess = "0123456789abcdef";
        WriteVersion1File(data, OldProcess);

        string keyed;
        await using (var hub = DurableHub.Start(data))
        {
            var old = await RawHttpClient.GetAsync(hub.EndPoint, $"/api/processes/{OldProcess}", hub.Token("alice"));
            Assert.That(old.Status, Is.EqualTo(200), old.ToString());
            Assert.That((old.Json.Str("process_type"), old.Json.Str("status")), Is.EqualTo(("export", "completed")));
            keyed = (await StartAsync(hub, "alice", Body, "after-upgrade", expect: 201)).Json.Str("process_id");
        }
        // The columns are added without raising the schema version: the binary before them still opens the file (it
        // refuses only a higher version, and names its columns).
        Assert.That(Scalar(data, "SELECT value FROM meta WHERE key = 'schema'"), Is.EqualTo("1"), "a version the hub before the keys opens");
        Assert.That(Scalar(data, "SELECT CAST(count(*) AS TEXT) FROM pragma_table_info('processes') WHERE name LIKE 'idempotency_%'"), Is.EqualTo("3"), "the key's columns added");

        await using (var hub = DurableHub.Start(data))
        {
            var repeat = await StartAsync(hub, "alice", Body, "after-upgrade", expect: 201);
            Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(keyed), "the key was kept in the upgraded file");
            Assert.That(await CountAsync(hub, "alice"), Is.EqualTo(2), "the old process and the keyed one");
        }
    }

    [Test]
    public async Task A_repeat_pipelined_behind_a_start_that_waits_for_the_store_waits_for_it_and_names_it()
    {
        using var data = new DataDirectory();
        // The writer waits (rather than fails) while this test holds the database's write lock.
        await using var hub = DurableHub.Start(data, lockTimeout: TestTimeouts.Receive);
        string token = hub.Token("alice");
        string marker = (await StartAsync(hub, "alice", """{"process_type":"marker"}""", "marker", expect: 201)).Json.Str("process_id");
        await using var worker = await RawHttpClient.ConnectAsync(hub.EndPoint);

        await using (var holder = await WriteLockHolder.TakeAsync(data))
        {
            await worker.SendAsync(Post("/api/processes", token, Body, "pipelined") + Post("/api/processes", token, Body, "pipelined")
                + Post($"/api/processes/{marker}/progress", token, """{"current":1,"total":1}""", close: true));
            // The report behind the two starts is read only once the repeat was taken, which then waits for the first
            // start's commit: a claim not stored yet is what it finds.
            await Eventually.HoldsAsync(() => hub.App.Registry.FindRecord(marker)!.Accepted.Seq == 2, "the report behind the two starts ordered");
            Assert.That(hub.App.Registry.Count, Is.EqualTo(1), "nothing published while the store waits");
            await holder.RollbackAsync();
        }

        var first = await worker.ReadResponseAsync();
        var repeat = await worker.ReadResponseAsync();
        var report = await worker.ReadResponseAsync();
        Assert.That((first.Status, repeat.Status, report.Status), Is.EqualTo((201, 201, 200)), $"{first}\n{repeat}\n{report}");
        Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(first.Json.Str("process_id")));
        Assert.That((first.Header("Idempotent-Replayed"), repeat.Header("Idempotent-Replayed")), Is.EqualTo(((string?)null, "true")));
        Assert.That(await CountAsync(hub, "alice"), Is.EqualTo(2), "the marker and one start");
    }

    [Test]
    public async Task A_start_the_store_refused_does_not_hold_its_key()
    {
        using var data = new DataDirectory();
        await using var hub = DurableHub.Start(data);
        await ExecuteAsync(data, "CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(FAIL, 'refused by the test'); END");

        var refused = await StartAsync(hub, "alice", Body, "refused-once", expect: 503);
        Assert.That(refused.ErrorCode, Is.EqualTo("unavailable"));
        await ExecuteAsync(data, "DROP TRIGGER refuse_events");

        // The store tries again a second after its failure; until then it refuses at once.
        var retried = await Eventually.HoldsAsync(() => StartAsync(hub, "alice", Body, "refused-once", expect: null), reply => reply.Status == 201, "the retry taken");
        Assert.That(retried.Header("Idempotent-Replayed"), Is.Null, "the refused start made nothing to replay");
        var repeat = await StartAsync(hub, "alice", Body, "refused-once", expect: 201);
        Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(retried.Json.Str("process_id")));
        Assert.That(await CountAsync(hub, "alice"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_key_goes_with_its_process_when_the_retention_window_lets_it_go()
    {
        using var data = new DataDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new HubOptions { Retention = TimeSpan.FromMinutes(15), StaleAfter = TimeSpan.Zero };
        await using var hub = DurableHub.Start(data, options, time);
        string first = (await StartAsync(hub, "alice", Body, "short-lived", expect: 201)).Json.Str("process_id");
        await hub.App.Engine.ApplyAsync(first, ProcessChange.Complete(null));

        time.Advance(TimeSpan.FromMinutes(16));
        hub.App.Timers.Sweep();
        Assert.That(hub.App.Registry.Find(first), Is.Null, "let go after the retention window");

        var again = await StartAsync(hub, "alice", Body, "short-lived", expect: 201);
        Assert.That(again.Json.Str("process_id"), Is.Not.EqualTo(first), "the key went with its process: a new start");
        Assert.That(again.Header("Idempotent-Replayed"), Is.Null);
    }

    private static async Task<HttpReply> StartAsync(DurableHub hub, string subject, string body, string key, int? expect)
    {
        var reply = await RawHttpClient.PostAsync(hub.EndPoint, "/api/processes", hub.Token(subject), body, ("Idempotency-Key", key));
        if (expect is { } status)
        {
            Assert.That(reply.Status, Is.EqualTo(status), reply.ToString());
        }
        return reply;
    }

    private static string Post(string path, string token, string body, string? key = null, bool close = false) =>
        $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        + $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n{(key is null ? "" : $"Idempotency-Key: {key}\r\n")}{(close ? "Connection: close\r\n" : "")}\r\n{body}";

    private static async Task<int> CountAsync(DurableHub hub, string subject)
    {
        var list = await RawHttpClient.GetAsync(hub.EndPoint, "/api/processes", hub.Token(subject));
        return list.Json.GetProperty("processes").GetArrayLength();
    }

    /// <summary>
    /// A database as ProcessHub wrote it before the key was kept (schema 1, its tables exactly as then), holding one
    /// completed process with its two events.
    /// </summary>
    private static void WriteVersion1File(DataDirectory data, string processId)
    {
        using var connection = new SqliteConnection($"Data Source={data.Database};Pooling=False");
        connection.Open();
        long now = DateTimeOffset.UtcNow.UtcTicks;
        string at = DateTimeOffset.UtcNow.ToString("O");
        using var command = connection.CreateCommand();
        command.CommandText = $$"""
            PRAGMA journal_mode = WAL;
            CREATE TABLE meta (
                key   TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE processes (
                key             INTEGER PRIMARY KEY,
                id              TEXT NOT NULL UNIQUE,
                type            TEXT NOT NULL,
                owner           TEXT NOT NULL,
                params          BLOB,
                started_at      INTEGER NOT NULL,
                in_process      INTEGER NOT NULL,
                status          INTEGER NOT NULL,
                seq             INTEGER NOT NULL,
                progress        BLOB NOT NULL,
                last_changed_at INTEGER NOT NULL,
                ended_at        INTEGER,
                result          BLOB,
                error           BLOB,
                cancelled_by    TEXT
            );
            CREATE TABLE events (
                id      INTEGER PRIMARY KEY,
                process INTEGER NOT NULL,
                seq     INTEGER NOT NULL,
                kind    INTEGER NOT NULL,
                payload BLOB NOT NULL
            );
            INSERT INTO meta (key, value) VALUES ('schema', '1'), ('epoch', '00112233aabbccdd');
            INSERT INTO processes (key, id, type, owner, params, started_at, in_process, status, seq, progress, last_changed_at, ended_at, result, error, cancelled_by)
            VALUES (1, '{{processId}}', 'export', 'alice', NULL, {{now}}, 0, 1, 2, CAST('{"current":0,"total":3}' AS BLOB), {{now}}, {{now}}, NULL, NULL, NULL);
            INSERT INTO events (id, process, seq, kind, payload) VALUES
                (1, 1, 1, 0, CAST('{"type":"process_started","process_id":"{{processId}}","seq":1,"process_type":"export","owner":"alice","params":null,"progress":{"current":0,"total":3},"started_at":"{{at}}","timestamp":"{{at}}"}' AS BLOB)),
                (2, 1, 2, 2, CAST('{"type":"process_completed","process_id":"{{processId}}","seq":2,"result":null,"timestamp":"{{at}}"}' AS BLOB));
            """;
        command.ExecuteNonQuery();
    }

    [Test]
    public async Task A_file_of_a_higher_schema_version_is_refused_with_a_clear_message()
    {
        // What keeps an older hub off a file whose layout it does not know: the version, which only a change an older
        // hub cannot leave alone raises (the key's columns did not).
        using var data = new DataDirectory();
        WriteVersion1File(data, "0123456789abcdef");
        await ExecuteAsync(data, "UPDATE meta SET value = '7' WHERE key = 'schema'");

        var refused = Assert.Throws<ProcessHub.Storage.StoreOpenException>(() => DurableHub.Start(data))!;
        Assert.That(refused.Message, Does.Contain("written by a newer ProcessHub (schema 7, this one knows 1)"), refused.Message);
    }

    private static string? Scalar(DataDirectory data, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={data.Database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() as string;
    }

    private static async Task ExecuteAsync(DataDirectory data, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={data.Database};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000; " + sql;
        await command.ExecuteNonQueryAsync();
    }
}
