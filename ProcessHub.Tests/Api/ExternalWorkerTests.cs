using System.Text.Json;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessHub.Tests.Client;

namespace ProcessHub.Tests.Api;

/// <summary>
/// A worker in another process, on the HTTP producer API alone, drives a process for a user who watches it over
/// the WebSocket (and over SSE): every event arrives, in seq order, with the same JSON on both channels.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ExternalWorkerTests : ApiFixture
{
    private const int Steps = 6;

    [Test]
    public async Task A_WebSocket_client_sees_every_event_an_HTTP_worker_produces_as_SSE_carries_it()
    {
        var (alice, aliceToken) = NewUser();
        var (_, workerToken) = NewUser("producer");
        var (socket, list) = await Server.OpenTabWithTokenAsync(aliceToken);
        await using var _ = socket;
        Assert.That(list.Get("processes").GetArrayLength(), Is.Zero);

        // The worker: create for alice, report every step with fields of its own, complete with a result.
        var created = await Server.PostAsync("/api/processes", workerToken,
            $$$"""{"process_type":"transcode","total":{{{Steps}}},"owner":"{{{alice}}}","params":{"input":"talk.mp4","presets":["720p","1080p"]}}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        string id = created.Json.Str("process_id");
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", aliceToken);
        var sent = new List<string>();
        for (int i = 1; i <= Steps; i++)
        {
            string progress = $$$"""{"current":{{{i}}},"total":{{{Steps}}},"detail":"segment {{{i}}}","fps":29.97,"stage":{"name":"encode","pass":{{{i % 2 + 1}}}}}""";
            sent.Add(progress);
            var reply = await Server.PostAsync($"/api/processes/{id}/progress", workerToken, progress);
            Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
            Assert.That(reply.Json.GetProperty("cancel_requested").GetBoolean(), Is.False);
        }
        var completed = await Server.PostAsync($"/api/processes/{id}/complete", workerToken, """{"result":{"outputs":["talk-720p.mp4","talk-1080p.mp4"],"bytes":123456789}}""");
        Assert.That(completed.Status, Is.EqualTo(200), completed.ToString());

        var messages = await socket.ReceiveThroughAsync(m => m.Type == "process_completed");
        var wsTexts = messages.Select(m => m.Text).ToList();
        var ws = messages.Select(m => m.Root).ToList();

        Assert.That(ws.Select(m => m.Type()), Is.EqualTo(
            new[] { "process_started" }.Concat(Enumerable.Repeat("process_progress", Steps)).Append("process_completed")));
        Assert.That(ws.Select(m => m.Long("seq")), Is.EqualTo(Enumerable.Range(1, Steps + 2).Select(i => (long)i)));
        Assert.That(ws.Select(m => m.Str("process_id")), Is.All.EqualTo(id));
        Assert.That(ws.Select(m => m.Str("process_type")), Is.All.EqualTo("transcode"));
        Assert.That(ws.Select(m => m.Str("timestamp")), Is.All.Match(Json.TimestampPattern));

        Assert.That(ws[0].Str("owner"), Is.EqualTo(alice));
        Assert.That(Json.DeepEquals(ws[0].GetProperty("params"), """{"input":"talk.mp4","presets":["720p","1080p"]}"""), Is.True, wsTexts[0]);
        Assert.That(Json.DeepEquals(ws[0].GetProperty("progress"), $$"""{"current":0,"total":{{Steps}}}"""), Is.True, wsTexts[0]);
        for (int i = 1; i <= Steps; i++)
        {
            Assert.That(ws[i].GetProperty("progress").GetRawText(), Is.EqualTo(sent[i - 1]), "the worker's progress object verbatim");
        }
        Assert.That(Json.DeepEquals(ws[^1].GetProperty("result"), """{"outputs":["talk-720p.mp4","talk-1080p.mp4"],"bytes":123456789}"""), Is.True, wsTexts[^1]);
        Assert.That(ws[^1].Long("duration_ms"), Is.GreaterThanOrEqualTo(0));

        // The SSE stream opened during the run carries the same JSON, byte for byte.
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var sseEvents = await sse.ReadToTerminalAsync();
        Assert.That(sseEvents.Select(e => e.Data), Is.EqualTo(wsTexts));
        Assert.That(sseEvents.Select(e => e.Id), Is.EqualTo(ws.Select(m => m.Long("seq"))));
    }

    // Behaviour rather than wire format: the rest is on the client library (ProcessHub.Client), as a user's worker
    // and watcher would be.
    [Test]
    public async Task A_worker_learns_of_a_cancel_from_the_WebSocket_at_its_next_report()
    {
        var (alice, aliceToken) = NewUser();
        var (_, workerToken) = NewUser("producer");
        var watcher = new HubWatcher(WebSocketUrl, aliceToken);
        await using var events = new WatchedEvents(watcher);
        await events.NextAsync<ProcessListed>();
        using var worker = new HubProducer(HttpUrl, workerToken);
        using var run = await worker.StartAsync("transcode", total: 3, owner: alice);
        Assert.That(await run.ReportAsync(1, 3), Is.False);

        var cancelling = watcher.CancelAsync(run.ProcessId);
        var cancelled = await events.NextAsync<ProcessCancelled>(c => c.ProcessId == run.ProcessId);
        await cancelling.WaitAsync(TestTimeouts.Receive);

        Assert.That(cancelled.CancelledBy, Is.EqualTo(alice));
        Assert.That(await run.ReportAsync(2, 3), Is.True, "409 with cancel_requested: the worker stops");
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.True);
        Assert.That(await run.CompleteAsync(), Is.False, "409 again: there is nothing left to complete");
    }

    [Test]
    public async Task Another_users_WebSocket_does_not_see_the_process()
    {
        var (alice, aliceToken) = NewUser();
        var (bob, bobToken) = NewUser();
        var (_, workerToken) = NewUser("producer");
        await using var bobSees = new WatchedEvents(new HubWatcher(WebSocketUrl, bobToken));
        await bobSees.NextAsync<ProcessListed>();
        await using var aliceSees = new WatchedEvents(new HubWatcher(WebSocketUrl, aliceToken));
        await aliceSees.NextAsync<ProcessListed>();
        using var worker = new HubProducer(HttpUrl, workerToken);

        using var alicesRun = await worker.StartAsync("transcode", owner: alice);
        await alicesRun.CompleteAsync();
        await aliceSees.NextAsync<ProcessCompleted>();
        // Bob's own process is published after alice's: had any of hers reached him, it would come first.
        using var bobsRun = await worker.StartAsync("transcode", owner: bob);

        var first = await bobSees.NextAsync<ProcessEvent>();
        Assert.That(first.ProcessId, Is.EqualTo(bobsRun.ProcessId), string.Join("\n", bobSees.Seen));
    }

    private Uri WebSocketUrl => new($"ws://{Server.EndPoint}/ws");

    private Uri HttpUrl => new($"http://{Server.EndPoint}");
}
