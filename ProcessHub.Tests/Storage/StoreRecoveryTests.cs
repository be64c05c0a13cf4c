using Microsoft.Data.Sqlite;
using NUnit.Framework;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// A store whose disk filled up takes events again once there is room, without a restart (docs/protocol.md section
/// 10): 503 with Retry-After meanwhile, /healthz says the engine cannot take events, and the process goes on from the
/// last acknowledged seq with no gap and nothing published that was refused.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class StoreRecoveryTests
{
    // Pages of padding the test frees, as an operator frees disk space: room for a few more reports.
    private const int PaddingPages = 64;

    [Test]
    public async Task A_store_that_filled_up_takes_events_again_once_space_is_freed()
    {
        using var data = new DataDirectory();
        long pageCap = await PadDatabaseAsync(data);
        await using var hub = DurableHub.Start(data, maxPageCount: pageCap);
        string token = hub.Token("alice");
        await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: token);
        await tab.ReceiveAsync();
        var created = await RawHttpClient.PostAsync(hub.EndPoint, "/api/processes", token, """{"process_type":"export","total":100000}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        string id = created.Json.GetProperty("process_id").GetString()!;
        string padding = new('x', 2000);
        var acknowledged = new List<int>();
        int current = 0;
        HttpReply reply;
        while ((reply = await ReportAsync(hub, token, id, ++current, padding)).Status == 200)
        {
            acknowledged.Add(current);
            Assert.That(current, Is.LessThan(1000), "the capped database never filled up");
        }
        Assert.That((reply.Status, reply.ErrorCode, reply.Header("Retry-After")), Is.EqualTo((503, "unavailable", "1")), reply.ToString());
        var health = await RawHttpClient.GetAsync(hub.EndPoint, "/healthz");
        Assert.That(health.Json.GetProperty("engine").GetProperty("connected").GetBoolean(), Is.False, "while the store refuses events: " + health.Text);
        Assert.That((health.Status, health.Json.GetProperty("status").GetString()), Is.EqualTo((200, "degraded")), "it still serves its tabs, and says it cannot take events");

        // Still full: every retry is refused, and nothing refused is published.
        var stillFull = await ReportAsync(hub, token, id, current, padding);
        Assert.That(stillFull.Status, Is.EqualTo(503), stillFull.ToString());

        await ExecuteAsync(data, "DROP TABLE padding");

        // The next report after Retry-After is written as a trial, and it commits: the worker just goes on.
        var resumed = await Eventually.HoldsAsync(() => ReportAsync(hub, token, id, current, padding), r => r.Status != 503, "a report accepted once space was freed");
        Assert.That(resumed.Status, Is.EqualTo(200), resumed.ToString());
        acknowledged.Add(current);
        for (int k = 0; k < 3; k++)
        {
            var next = await ReportAsync(hub, token, id, ++current, padding);
            Assert.That(next.Status, Is.EqualTo(200), next.ToString());
            acknowledged.Add(current);
        }
        health = await RawHttpClient.GetAsync(hub.EndPoint, "/healthz");
        Assert.That(health.Json.GetProperty("engine").GetProperty("connected").GetBoolean(), Is.True, "once the store writes again: " + health.Text);
        Assert.That(health.Json.GetProperty("status").GetString(), Is.EqualTo("ok"));
        Assert.That(hub.Store.Failure, Is.Null);

        // The tab saw each acknowledged report once, in order, with seqs that follow each other across the outage.
        var received = await HubTestHost.DrainWithPingAsync(tab);
        var progress = received.Where(m => m.Type == "process_progress").ToList();
        Assert.That(progress.Select(m => m.Get("progress").GetProperty("current").GetInt32()), Is.EqualTo(acknowledged));
        Assert.That(progress.Select(m => m.Get("seq").GetInt64()), Is.EqualTo(Enumerable.Range(2, acknowledged.Count).Select(s => (long)s)));
        Assert.That(hub.App.Registry.Find(id)!.Value.Seq, Is.EqualTo(1 + acknowledged.Count));
    }

    private static Task<HttpReply> ReportAsync(DurableHub hub, string token, string id, int current, string padding) =>
        RawHttpClient.PostAsync(hub.EndPoint, $"/api/processes/{id}/progress", token, $$"""{"current":{{current}},"total":100000,"detail":"{{padding}}"}""");

    /// <summary>
    /// Creates the store's file with a table of padding in it, and returns a page cap a few pages above the file's
    /// size: the hub fills the file up within a few reports, and dropping the padding frees room for more.
    /// </summary>
    private static async Task<long> PadDatabaseAsync(DataDirectory data)
    {
        await using (var first = DurableHub.Start(data))
        {
        }
        await ExecuteAsync(data, $"CREATE TABLE padding (filler BLOB); INSERT INTO padding VALUES (zeroblob({PaddingPages * 4096}))");
        await ExecuteAsync(data, "PRAGMA wal_checkpoint(TRUNCATE)");
        await using var connection = await OpenAsync(data);
        await using var count = connection.CreateCommand();
        count.CommandText = "PRAGMA page_count";
        long pages = Convert.ToInt64(await count.ExecuteScalarAsync());
        return pages + 8;
    }

    private static async Task ExecuteAsync(DataDirectory data, string sql)
    {
        await using var connection = await OpenAsync(data);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<SqliteConnection> OpenAsync(DataDirectory data)
    {
        var connection = new SqliteConnection($"Data Source={data.Database};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }
}
