using System.Text;
using NUnit.Framework;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// HTTP pipelining on the producer API with the durable store (docs/protocol.md section 1.4): a report waiting for its
/// commit lets the next request on the connection start, so one commit carries many; the answers still come in
/// request order, reads see the writes before them, and a failed commit closes the connection after its 503.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class PipelinedReportsTests
{
    [Test]
    public async Task Pipelined_reports_are_applied_and_answered_in_request_order()
    {
        using var data = new DataDirectory();
        await using var hub = DurableHub.Start(data);
        string token = hub.Token("alice");
        await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: token);
        await tab.ReceiveAsync();
        string id = await CreateAsync(hub, token);
        await using var worker = await RawHttpClient.ConnectAsync(hub.EndPoint);

        var pipeline = new StringBuilder();
        for (int i = 1; i <= 20; i++)
        {
            pipeline.Append(Post($"/api/processes/{id}/progress", token, $$"""{"current":{{i}},"total":20}"""));
        }
        pipeline.Append(Get($"/api/processes/{id}", token));
        pipeline.Append(Post("/api/processes/no-such-process/progress", token, """{"current":1,"total":20}"""));
        pipeline.Append(Post($"/api/processes/{id}/complete", token, """{"result":{"ok":true}}"""));
        pipeline.Append(Post($"/api/processes/{id}/progress", token, """{"current":21,"total":20}"""));
        pipeline.Append(Get($"/api/processes/{id}", token, close: true));
        await worker.SendAsync(pipeline.ToString());

        for (int i = 1; i <= 20; i++)
        {
            var progress = await worker.ReadResponseAsync();
            Assert.That((progress.Status, progress.Text), Is.EqualTo((200, """{"cancel_requested":false}""")), $"report {i}: {progress}");
        }
        var midway = await worker.ReadResponseAsync();
        Assert.That(midway.Status, Is.EqualTo(200), midway.ToString());
        Assert.That(midway.Json.GetProperty("seq").GetInt64(), Is.EqualTo(21), "a pipelined read sees every write before it");
        Assert.That(midway.Json.GetProperty("progress").GetProperty("current").GetInt32(), Is.EqualTo(20));
        var unknown = await worker.ReadResponseAsync();
        Assert.That((unknown.Status, unknown.ErrorCode), Is.EqualTo((404, "not_found")), unknown.ToString());
        var completed = await worker.ReadResponseAsync();
        Assert.That(completed.Status, Is.EqualTo(200), completed.ToString());
        var late = await worker.ReadResponseAsync();
        Assert.That(late.Status, Is.EqualTo(409), "the report after complete is refused: the changes were ordered as sent");
        var last = await worker.ReadResponseAsync();
        Assert.That((last.Status, last.Json.GetProperty("status").GetString(), last.Json.GetProperty("seq").GetInt64()), Is.EqualTo((200, "completed", 22L)), last.ToString());
        await worker.ExpectClosedAsync();

        var received = await HubTestHost.DrainWithPingAsync(tab);
        var currents = received.Where(m => m.Type == "process_progress").Select(m => m.Get("progress").GetProperty("current").GetInt32()).ToList();
        Assert.That(currents, Is.EqualTo(Enumerable.Range(1, 20)), "the tab saw the reports in the order they were sent");
        Assert.That(received.Count(m => m.Type == "process_completed"), Is.EqualTo(1));
    }

    [Test]
    public async Task Reports_pipelined_while_the_store_waits_share_one_commit()
    {
        using var data = new DataDirectory();
        // The writer waits (rather than fails) while this test holds the database's write lock.
        await using var hub = DurableHub.Start(data, lockTimeout: TestTimeouts.Receive);
        string token = hub.Token("alice");
        string id = await CreateAsync(hub, token);
        await using var worker = await RawHttpClient.ConnectAsync(hub.EndPoint);
        long commitsBefore = hub.Store.Statistics.Commits;
        const int Reports = 30;

        int bound = ProcessHub.Server.HttpConnectionLoop.MaxAnswersWaiting;
        await using (var holder = await WriteLockHolder.TakeAsync(data))
        {
            var pipeline = new StringBuilder();
            for (int i = 1; i <= Reports; i++)
            {
                pipeline.Append(Post($"/api/processes/{id}/progress", token, $$"""{"current":{{i}},"total":{{Reports}}}""", close: i == Reports));
            }
            await worker.SendAsync(pipeline.ToString());

            // Reports are ordered (each has its seq) while none can be written: without pipelining only the first
            // would be, the others unread behind its answer. Up to the bound: past 16 answers waiting the hub stops
            // reading, so a client that never reads its answers cannot make it hold more (docs/protocol.md 1.2).
            await Eventually.HoldsAsync(() => hub.App.Registry.FindRecord(id)!.Accepted.Seq == 1 + bound, "the pipelined reports up to the bound ordered while the store waited");
            Assert.That(hub.Store.Statistics.Commits, Is.EqualTo(commitsBefore), "nothing could be committed yet");
            Assert.That(hub.App.Registry.FindRecord(id)!.Accepted.Seq, Is.EqualTo(1 + bound), "no report past the bound read while the oldest answer waits");
            await holder.RollbackAsync();
        }

        for (int i = 1; i <= Reports; i++)
        {
            var reply = await worker.ReadResponseAsync();
            Assert.That(reply.Status, Is.EqualTo(200), $"report {i}: {reply}");
        }
        await worker.ExpectClosedAsync();
        // The batch the writer had begun (at least the first report), then what queued behind it, then the rest.
        Assert.That(hub.Store.Statistics.Commits - commitsBefore, Is.InRange(1, Reports - bound + 2));
        Assert.That(hub.App.Registry.Find(id)!.Value.Seq, Is.EqualTo(1 + Reports));
    }

    [Test]
    public async Task Nothing_pipelined_after_a_request_that_asks_to_close_is_served()
    {
        using var data = new DataDirectory();
        await using var hub = DurableHub.Start(data, lockTimeout: TestTimeouts.Receive);
        string token = hub.Token("alice");
        string id = await CreateAsync(hub, token);
        await using var worker = await RawHttpClient.ConnectAsync(hub.EndPoint);

        await using (var holder = await WriteLockHolder.TakeAsync(data))
        {
            // The first waits for the store while the second is already in the connection's buffer.
            await worker.SendAsync(Post($"/api/processes/{id}/progress", token, """{"current":1,"total":20}""", close: true)
                + Post($"/api/processes/{id}/progress", token, """{"current":2,"total":20}"""));
            await Eventually.HoldsAsync(() => hub.App.Registry.FindRecord(id)!.Accepted.Seq == 2, "the first report was ordered");
            await holder.RollbackAsync();
        }

        var first = await worker.ReadResponseAsync();
        Assert.That((first.Status, first.Header("Connection")), Is.EqualTo((200, "close")), first.ToString());
        await worker.ExpectClosedAsync();
        Assert.That(hub.App.Registry.FindRecord(id)!.Accepted.Seq, Is.EqualTo(2), "the request after Connection: close was not applied");
    }

    [Test]
    public async Task A_refused_Host_in_a_pipeline_is_answered_after_the_reports_before_it()
    {
        using var data = new DataDirectory();
        await using var hub = DurableHub.Start(data, lockTimeout: TestTimeouts.Receive, allowedHosts: ["127.0.0.1"]);
        string token = hub.Token("alice");
        string id = await CreateAsync(hub, token);
        await using var worker = await RawHttpClient.ConnectAsync(hub.EndPoint);

        await using (var holder = await WriteLockHolder.TakeAsync(data))
        {
            // The first waits for the store while the second, for a name this hub does not answer to, is read.
            string refused = Post($"/api/processes/{id}/progress", token, """{"current":2,"total":20}""").Replace("Host: 127.0.0.1", "Host: rebound.example", StringComparison.Ordinal);
            await worker.SendAsync(Post($"/api/processes/{id}/progress", token, """{"current":1,"total":20}""") + refused);
            await Eventually.HoldsAsync(() => hub.App.Registry.FindRecord(id)!.Accepted.Seq == 2, "the first report was ordered");
            await holder.RollbackAsync();
        }

        // The stored report is answered first (it used to be cut off by the 403 sent ahead of it), then the refusal.
        var first = await worker.ReadResponseAsync();
        Assert.That(first.Status, Is.EqualTo(200), first.ToString());
        var second = await worker.ReadResponseAsync();
        Assert.That(second.Status, Is.EqualTo(403), second.ToString());
        await worker.ExpectClosedAsync();
        Assert.That(hub.App.Registry.Find(id)!.Value.Seq, Is.EqualTo(2), "the refused request was not applied");
    }

    [Test]
    public async Task A_failed_commit_in_a_pipeline_is_503_then_the_connection_closes()
    {
        using var data = new DataDirectory();
        // A database capped a few pages above its empty size fails its writes the way a full disk does.
        await using var hub = DurableHub.Start(data, maxPageCount: 12);
        string token = hub.Token("alice");
        await using var tab = await RawWebSocketClient.OpenAsync(hub.EndPoint, queryToken: token);
        await tab.ReceiveAsync();
        string id = await CreateAsync(hub, token, total: 100000);
        await using var worker = await RawHttpClient.ConnectAsync(hub.EndPoint);
        string padding = new('x', 2000);
        const int Reports = 200;
        var pipeline = new StringBuilder();
        for (int i = 1; i <= Reports; i++)
        {
            pipeline.Append(Post($"/api/processes/{id}/progress", token, $$"""{"current":{{i}},"total":100000,"detail":"{{padding}}"}"""));
        }

        await worker.SendAsync(pipeline.ToString());

        int acknowledged = 0;
        HttpReply reply;
        while ((reply = await worker.ReadResponseAsync()).Status == 200)
        {
            acknowledged++;
            Assert.That(acknowledged, Is.LessThan(Reports), "the capped database never filled up");
        }
        Assert.That((reply.Status, reply.ErrorCode, reply.Header("Connection")), Is.EqualTo((503, "unavailable", "close")), reply.ToString());
        await worker.ExpectClosedAsync();

        // The tab got exactly the acknowledged reports, in order: nothing after the failure was published.
        var received = await HubTestHost.DrainWithPingAsync(tab);
        var currents = received.Where(m => m.Type == "process_progress").Select(m => m.Get("progress").GetProperty("current").GetInt32()).ToList();
        Assert.That(currents, Is.EqualTo(Enumerable.Range(1, acknowledged)));
    }

    private static async Task<string> CreateAsync(DurableHub hub, string token, int total = 20)
    {
        var created = await RawHttpClient.PostAsync(hub.EndPoint, "/api/processes", token, $$"""{"process_type":"export","total":{{total}}}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        return created.Json.GetProperty("process_id").GetString()!;
    }

    private static string Post(string path, string token, string body, bool close = false) =>
        $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n{(close ? "Connection: close\r\n" : "")}\r\n{body}";

    private static string Get(string path, string token, bool close = false) =>
        $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n{(close ? "Connection: close\r\n" : "")}\r\n";
}
