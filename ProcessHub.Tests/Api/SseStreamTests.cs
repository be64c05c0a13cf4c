using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Api;

/// <summary>
/// GET /api/processes/{id}/events read byte for byte (docs/protocol.md section 1): the head, the <c>retry:</c> hint,
/// <c>id</c>/<c>event</c>/<c>data</c> per event with the WebSocket's JSON, keep-alive comments, the end after the
/// terminal event, and <c>Last-Event-ID</c> resume.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class SseStreamTests : ApiFixture
{
    [Test]
    public async Task The_stream_is_framed_exactly_and_carries_the_WebSocket_JSON()
    {
        var (_, token) = NewUser();
        var (socket, _) = await Server.OpenTabWithTokenAsync(token);
        await using var _ = socket;
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 2 });
        string wsStarted = await socket.ReceiveTextAsync();

        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);

        Assert.Multiple(() =>
        {
            Assert.That(sse.Head.Version, Is.EqualTo("HTTP/1.1"));
            Assert.That(sse.Head.Status, Is.EqualTo(200), sse.Head.Head);
            Assert.That(sse.Head.Header("Content-Type"), Is.EqualTo("text/event-stream; charset=utf-8"));
            Assert.That(sse.Head.Header("Cache-Control"), Is.EqualTo("no-cache"));
            Assert.That(sse.Head.HeaderCount("Content-Length"), Is.Zero);
            Assert.That(sse.Head.HeaderCount("Transfer-Encoding"), Is.Zero);
        });
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"), "the retry hint comes first");
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo($"id: 1\nevent: process_started\ndata: {wsStarted}"));

        await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":2,"detail":"half"}""");
        string wsProgress = await socket.ReceiveTextAsync();
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo($"id: 2\nevent: process_progress\ndata: {wsProgress}"));

        await Server.PostAsync($"/api/processes/{id}/complete", token, """{"result":{"ok":true}}""");
        string wsCompleted = await socket.ReceiveTextAsync();
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo($"id: 3\nevent: process_completed\ndata: {wsCompleted}"));

        await sse.AssertClosedAsync();
    }

    [Test]
    public async Task A_client_that_half_closes_after_its_request_ends_its_stream()
    {
        // docs/protocol.md 1.5: the end of what the client sends is the client leaving (as nginx takes it), so the
        // stream of a running process ends at once instead of waiting for its next event or keep-alive.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 2 });
        await using var client = await RawHttpClient.ConnectAsync(Server.EndPoint);
        await client.SendAsync(RawHttpClient.BuildRequest("GET", $"/api/processes/{id}/events", token, contentLength: null));
        client.ShutdownSend();

        string answer = System.Text.Encoding.UTF8.GetString(await client.ReadToEndAsync());
        Assert.That(answer, Does.StartWith("HTTP/1.1 200 OK\r\n"), answer);
        Assert.That(answer, Does.Contain("Content-Type: text/event-stream"), answer);
        Assert.That(answer, Does.Not.Contain("process_completed"), "the process still runs: the stream ended because the client left");
    }

    [Test]
    public async Task An_idle_stream_gets_keep_alive_comments()
    {
        // The keep-alive interval is the hub's clock: a fake one, moved on while the test waits for the next block.
        await using var host = HubTestHost.Start(new HubOptions { SseKeepAlive = TimeSpan.FromSeconds(15) }, fakeTime: true);
        string token = host.Token("idle");
        string id = await host.CreateAsync(token);
        using var sse = await SseClient.GetAsync(host.EndPoint, $"/api/processes/{id}/events", token);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Event, Is.EqualTo("process_started"));

        // Nothing happens to the process: the next two blocks can only be keep-alives.
        var step = TimeSpan.FromSeconds(1);
        Assert.That(await Eventually.CompletesAsync(host.Time!, sse.ReadBlockAsync(), "a keep-alive", step), Is.EqualTo(": keep-alive"));
        Assert.That(await Eventually.CompletesAsync(host.Time!, sse.ReadBlockAsync(), "a second keep-alive", step), Is.EqualTo(": keep-alive"));

        await host.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":3}""");
        var progress = await sse.ReadEventAsync();
        Assert.That(progress.Id, Is.EqualTo(2), "the stream goes on after keep-alives");
    }

    [Test]
    public async Task Every_event_has_matching_id_event_and_data()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 3 });
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
        for (int i = 1; i <= 3; i++)
        {
            await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = i, total = 3 });
        }
        await Server.PostAsync($"/api/processes/{id}/fail", token, """{"error":{"message":"broke","code":"E"}}""");

        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var events = await sse.ReadToTerminalAsync();
        await sse.AssertClosedAsync();

        Assert.That(events.Select(e => e.Id), Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
        Assert.That(events.Select(e => e.Event), Is.EqualTo(new[] { "process_started", "process_progress", "process_progress", "process_progress", "process_failed" }));
        foreach (var e in events)
        {
            Assert.That(e.Json.Long("seq"), Is.EqualTo(e.Id), e.Data);
            Assert.That(e.Json.Type(), Is.EqualTo(e.Event), e.Data);
            Assert.That(e.Json.Str("process_id"), Is.EqualTo(id), e.Data);
        }
        Assert.That(events[^1].Json.GetProperty("error").Str("message"), Is.EqualTo("broke"));
    }

    [Test]
    public async Task Last_Event_ID_resumes_strictly_after_that_seq_then_goes_live()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 5 });
        for (int i = 1; i <= 3; i++)
        {
            await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = i, total = 5 });
        }

        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token, lastEventId: "2");
        Assert.That(sse.Head.Status, Is.EqualTo(200), sse.Head.Head);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var replayed = new[] { await sse.ReadEventAsync(), await sse.ReadEventAsync() };
        Assert.That(replayed.Select(e => e.Id), Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(replayed.Select(e => e.Json.GetProperty("progress").Long("current")), Is.EqualTo(new long[] { 2, 3 }));

        await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = 4, total = 5 });
        await Server.PostAsync($"/api/processes/{id}/complete", token, null);
        var live = await sse.ReadToTerminalAsync();
        await sse.AssertClosedAsync();

        Assert.That(live.Select(e => e.Id), Is.EqualTo(new long[] { 5, 6 }));
        Assert.That(live[^1].Event, Is.EqualTo("process_completed"));
    }

    [Test]
    public async Task A_line_break_in_a_producers_JSON_starts_another_data_line_of_the_same_event()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 3 });
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token, lastEventId: "1");
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));

        await Server.PostAsync($"/api/processes/{id}/progress", token, "{\r\n  \"current\": 1,\n\n  \"total\": 3\r}");
        string? block = await sse.ReadBlockAsync();

        // CRLF, LF and CR each end a line (and a blank line would end the event): each piece has a data: field.
        Assert.That(block, Does.StartWith("id: 2\nevent: process_progress\ndata: {\"type\":\"process_progress\""));
        Assert.That(block, Does.Contain("\"progress\":{\ndata:   \"current\": 1,\ndata: \ndata:   \"total\": 3\ndata: },"));
        string data = string.Join('\n', block!.Split('\n').Where(line => line.StartsWith("data: ", StringComparison.Ordinal)).Select(line => line["data: ".Length..]));
        var json = System.Text.Json.JsonDocument.Parse(data).RootElement;
        Assert.That(json.GetProperty("progress").Long("current"), Is.EqualTo(1));
        Assert.That(json.Long("seq"), Is.EqualTo(2));
        await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = 2, total = 3 });
        Assert.That((await sse.ReadEventAsync()).Id, Is.EqualTo(3), "the next event is whole and next");
    }

    [Test]
    public async Task On_a_lone_hub_a_Last_Event_ID_past_every_seq_of_the_process_starts_the_stream_over()
    {
        // An id of another process, or from a store restored without --new-epoch: skipping up to it dropped every later
        // event, the end too, and the client saw a bare EOF. No other hub can be ahead of a lone one.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 5 });
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token, lastEventId: "50");
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));

        var first = await sse.ReadEventAsync();
        await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = 1, total = 5 });
        var second = await sse.ReadEventAsync();

        Assert.That((first.Id, first.Event), Is.EqualTo((1L, "process_started")));
        Assert.That(second.Id, Is.EqualTo(2));
    }

    [Test]
    public async Task A_HEAD_of_a_stream_takes_no_stream_of_its_user()
    {
        // A monitor probing the route with HEAD while its user had every stream open got 429.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 5 });
        var open = new List<SseClient>();
        try
        {
            for (int i = 0; i < Server.App.HubOptions.MaxConnectionsPerUser; i++)
            {
                var stream = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
                open.Add(stream);
                Assert.That(await stream.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
            }
            var refused = await RawHttpClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
            await using var client = await RawHttpClient.ConnectAsync(Server.EndPoint);
            await client.SendAsync($"HEAD /api/processes/{id}/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n");
            var head = await client.ReadHeadAsync();

            Assert.That((refused.Status, refused.Header("Retry-After")), Is.EqualTo((429, "1")), "a GET past the limit, with Retry-After as every 429: " + refused);
            Assert.That(head.Status, Is.EqualTo(200), head.ToString());
        }
        finally
        {
            foreach (var stream in open)
            {
                stream.Dispose();
            }
        }
    }

    // The shared engine's case on this lone hub: another hub may be ahead of this one (docs/protocol.md 11.4).
    private Reset LikeAHubOfSeveral()
    {
        Server.App.Registry.MayLagBehindClients = true;
        return new Reset(() => Server.App.Registry.MayLagBehindClients = false);
    }

    private sealed class Reset(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    [Test]
    public async Task A_Last_Event_ID_past_the_hubs_seq_gets_no_event_it_names_again()
    {
        // A hub catching up from the shared engine can be behind a client that saw more on another hub: the events up
        // to its Last-Event-ID must not come again when this hub applies them.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 5 });
        using var shared = LikeAHubOfSeveral();
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token, lastEventId: "3");
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));

        for (int i = 1; i <= 3; i++)
        {
            await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = i, total = 5 });
        }
        var next = await sse.ReadEventAsync();

        Assert.That(next.Id, Is.EqualTo(4), "seq 2 and 3 were named by Last-Event-ID");
        Assert.That(next.Json.GetProperty("progress").Long("current"), Is.EqualTo(3));
    }

    [Test]
    public async Task A_stream_ends_when_its_token_expires()
    {
        // The hub's clock is a fake one, moved on while the test waits: the token is valid (for an hour of real time)
        // when the stream opens, and the stream ends when the hub's clock passes its exp.
        await using var host = HubTestHost.Start(new HubOptions { StaleAfter = TimeSpan.Zero }, fakeTime: true); // not ended as stale meanwhile
        string token = host.App.Tokens.Issue("expiring", [], TimeSpan.FromHours(1));
        string id = await host.CreateAsync(token, new { process_type = "export", total = 5 });
        using var sse = await SseClient.GetAsync(host.EndPoint, $"/api/processes/{id}/events?token={token}", token: null);
        Assert.That(sse.Head.Status, Is.EqualTo(200), sse.Head.Head);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Id, Is.EqualTo(1));

        // Nothing else happens to the process: only keep-alives come, until the stream ends with the token.
        async Task<string?> EndAsync()
        {
            while (await sse.ReadBlockAsync() is { } block)
            {
                if (block != ": keep-alive")
                {
                    return block;
                }
            }
            return null;
        }
        string? last = await Eventually.CompletesAsync(host.Time!, EndAsync(), "the end of the stream", TimeSpan.FromMinutes(10));

        // Said before the close, which otherwise looked like a shutdown's: an EventSource's reconnect with the same URL
        // gets 401 and fails for good, so a page swaps in a fresh token when it hears this.
        Assert.That(last, Is.EqualTo("event: token_expired\ndata: {\"type\":\"token_expired\",\"message\":\"the stream's token expired: reconnect with a fresh one\"}"),
            "nothing but keep-alives, then the reason");
        Assert.That(await sse.ReadBlockAsync(), Is.Null, "and then the end");
        Assert.That((await host.GetProcessAsync(id, token)).Str("status"), Is.EqualTo("running"), "the process runs on");
    }

    [Test]
    public async Task A_token_that_lives_longer_than_a_timer_can_wait_streams_as_any_other()
    {
        // A timer cannot be set more than about 49 days ahead: the expiry of a 60-day service token threw, after the
        // head and the retry hint, and EventSource reconnected every 3 s for ever.
        var (subject, _) = NewUser();
        string token = Server.App.Tokens.Issue(subject, [], TimeSpan.FromDays(60));
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 5 });
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Id, Is.EqualTo(1));

        await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = 1, total = 5 });

        Assert.That((await sse.ReadEventAsync()).Id, Is.EqualTo(2));
    }

    [Test]
    public async Task A_Last_Event_ID_at_the_terminal_events_seq_on_a_hub_behind_ends_the_stream_when_the_hub_catches_up()
    {
        // The client saw the end elsewhere (a hub further on): when this hub applies the end, which the stream skips
        // as named by Last-Event-ID, the stream ends as it would after the terminal event, rather than idling on.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 1 });
        using var shared = LikeAHubOfSeveral();
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token, lastEventId: "2");
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));

        await Server.PostAsync($"/api/processes/{id}/complete", token, null);

        await sse.AssertClosedAsync();
    }

    [Test]
    public async Task The_stream_of_an_ended_process_replays_its_events_and_ends()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        await Server.PostAsync($"/api/processes/{id}/cancel", token, null);

        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var events = await sse.ReadToTerminalAsync();
        await sse.AssertClosedAsync();

        Assert.That(events.Select(e => e.Event), Is.EqualTo(new[] { "process_started", "process_cancelled" }));
    }

    [Test]
    public async Task Last_Event_ID_at_the_terminal_event_of_an_ended_process_gives_an_empty_stream()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        await Server.PostAsync($"/api/processes/{id}/complete", token, null);

        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token, lastEventId: "2");

        Assert.That(sse.Head.Status, Is.EqualTo(200));
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That(await sse.ReadBlockAsync(), Is.Null, "nothing after seq 2, and the process has ended");
    }

    [TestCase("")]
    [TestCase("   ")]
    public async Task An_empty_Last_Event_ID_is_the_same_as_none(string lastEventId)
    {
        // docs/protocol.md 1.4.8 said so, and the hub answered 400 "Last-Event-ID must be a seq" (from an audit).
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 5 });
        await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = 1, total = 5 });
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token, lastEventId: lastEventId);

        Assert.That(sse.Head.Status, Is.EqualTo(200), sse.Head.ToString());
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Id, Is.EqualTo(1), "from the oldest event");
        Assert.That((await sse.ReadEventAsync()).Id, Is.EqualTo(2));
    }

    [TestCase("abc")]
    [TestCase("-1")]
    [TestCase("1.5")]
    [TestCase("99999999999999999999999")]
    public async Task A_Last_Event_ID_that_is_not_a_seq_is_400(string lastEventId)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.GetAsync($"/api/processes/{id}/events", token, ("Accept", "text/event-stream"), ("Last-Event-ID", lastEventId));

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("bad_request"));
    }

    [Test]
    public async Task Events_of_another_users_process_are_403_an_unknown_one_404_without_a_token_401()
    {
        var (_, aliceToken) = NewUser();
        var (_, malloryToken) = NewUser();
        string id = await Server.CreateAsync(aliceToken);

        var foreign = await Server.GetAsync($"/api/processes/{id}/events", malloryToken);
        var unknown = await Server.GetAsync("/api/processes/0000000000000000/events", aliceToken);
        var anonymous = await Server.GetAsync($"/api/processes/{id}/events", token: null);

        Assert.That(foreign.Status, Is.EqualTo(403), foreign.ToString());
        Assert.That(unknown.Status, Is.EqualTo(404), unknown.ToString());
        Assert.That(anonymous.Status, Is.EqualTo(401), anonymous.ToString());
    }

    [Test]
    public async Task An_admin_may_watch_any_process()
    {
        var (_, aliceToken) = NewUser();
        var (_, adminToken) = NewUser("admin");
        string id = await Server.CreateAsync(aliceToken);

        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", adminToken);

        Assert.That(sse.Head.Status, Is.EqualTo(200), sse.Head.Head);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Event, Is.EqualTo("process_started"));
    }

    [Test]
    public async Task Closing_the_stream_does_not_cancel_the_process()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        var record = Server.App.Registry.FindRecord(id)!;
        var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        Assert.That((await sse.ReadEventAsync()).Event, Is.EqualTo("process_started"));
        Assert.That(record.Watchers, Has.Length.EqualTo(1));

        sse.Dispose();
        // The server notices the close on its own time; wait until it has let the stream go.
        await Eventually.HoldsAsync(() => Task.FromResult(record.Watchers.Length), n => n == 0, "the SSE stream to stop watching");

        var progress = await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":3}""");
        Assert.That(progress.Status, Is.EqualTo(200), progress.ToString());
        Assert.That(progress.Json.GetProperty("cancel_requested").GetBoolean(), Is.False);
        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.Str("status"), Is.EqualTo("running"));
        Assert.That(Server.App.Producer.Find(id)!.CancellationToken.IsCancellationRequested, Is.False);
    }
}
