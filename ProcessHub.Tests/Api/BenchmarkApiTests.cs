using System.Globalization;
using System.Text.Json;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>
/// POST /api/benchmark and the built-in runner: models x runs x contexts steps reported in the seed's form
/// (<c>"Run 2/3, Context 5K"</c>), streamed as SSE or started with 202, validated, failing on request, cancellable.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class BenchmarkApiTests : ApiFixture
{
    [Test]
    public async Task The_SSE_run_reports_every_step_in_order_then_completes()
    {
        var (alice, token) = NewUser();
        const string body = """{"models":["GPT-4o","Claude"],"runs":3,"contexts":["1K","5K"],"step_ms":5}""";

        using var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token, body);
        Assert.That(sse.Head.Status, Is.EqualTo(200), sse.Head.Head);
        Assert.That(sse.Head.Header("Content-Type"), Is.EqualTo("text/event-stream; charset=utf-8"));
        Assert.That(sse.Head.HeaderCount("Content-Length"), Is.Zero);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var events = await sse.ReadToTerminalAsync();
        await sse.AssertClosedAsync();

        const int total = 2 * 3 * 2;
        Assert.That(events.Select(e => e.Id), Is.EqualTo(Enumerable.Range(1, total + 2).Select(i => (long)i)), "seq without gaps");
        Assert.That(events.Select(e => e.Json.Long("seq")), Is.EqualTo(events.Select(e => e.Id)));
        Assert.That(events.Select(e => e.Json.Type()), Is.EqualTo(events.Select(e => e.Event)));
        string id = events[0].Json.Str("process_id");
        Assert.That(events.Select(e => e.Json.Str("process_id")), Is.All.EqualTo(id));
        Assert.That(events.Select(e => e.Json.Str("process_type")), Is.All.EqualTo("benchmark"));

        var started = events[0].Json;
        Assert.That(events[0].Event, Is.EqualTo("process_started"));
        Assert.That(started.Str("owner"), Is.EqualTo(alice));
        Assert.That(Json.DeepEquals(started.GetProperty("progress"), $$"""{"current":0,"total":{{total}}}"""), Is.True, started.ToString());
        Assert.That(Json.DeepEquals(started.GetProperty("params"), body), Is.True, "params are the request");

        var progress = events.Skip(1).Take(total).ToList();
        Assert.That(progress.Select(e => e.Event), Is.All.EqualTo("process_progress"));
        var expected = new List<(int Current, string Model, string Detail)>();
        foreach (var model in new[] { "GPT-4o", "Claude" })
        {
            for (int run = 1; run <= 3; run++)
            {
                foreach (var context in new[] { "1K", "5K" })
                {
                    expected.Add((expected.Count + 1, model, string.Create(CultureInfo.InvariantCulture, $"Run {run}/3, Context {context}")));
                }
            }
        }
        var actual = progress.Select(e => e.Json.GetProperty("progress"))
            .Select(p => (Current: (int)p.Long("current"), Model: p.Str("model"), Detail: p.Str("detail"))).ToList();
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(progress.Select(e => e.Json.GetProperty("progress").Long("total")), Is.All.EqualTo(total));
        Assert.That(expected[1].Detail, Is.EqualTo("Run 1/3, Context 5K"), "the seed's form");

        var completed = events[^1];
        Assert.That(completed.Event, Is.EqualTo("process_completed"));
        Assert.That(completed.Json.GetProperty("duration_ms").ValueKind, Is.EqualTo(JsonValueKind.Number));
        Assert.That(completed.Json.Long("duration_ms"), Is.GreaterThanOrEqualTo(0));
        var result = completed.Json.GetProperty("result");
        Assert.That(result.Long("steps"), Is.EqualTo(total));
        Assert.That(Json.Keys(result.GetProperty("scores")), Is.EqualTo(new[] { "Claude", "GPT-4o" }));
        Assert.That(completed.Json.Str("timestamp"), Does.Match(Json.TimestampPattern));

        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.Str("status"), Is.EqualTo("completed"));
        Assert.That(process.Long("seq"), Is.EqualTo(total + 2));
    }

    [Test]
    public async Task A_run_faster_than_the_history_is_streamed_from_its_first_event()
    {
        var (_, token) = NewUser();
        // 3,000 steps with no wait outrun the 1,000 events of history a process keeps; the stream must not start
        // mid-way. The runner races the stream's start, so a few runs give the race its chances.
        for (int attempt = 0; attempt < 4; attempt++)
        {
            using var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token, """{"models":["m"],"runs":1000,"contexts":["1K","2K","3K"],"step_ms":0}""");
            Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
            var events = await sse.ReadToTerminalAsync();

            Assert.That(events[0].Event, Is.EqualTo("process_started"), $"attempt {attempt}: the stream began at id {events[0].Id}");
            Assert.That(events.Select(e => e.Id), Is.EqualTo(Enumerable.Range(1, 3002).Select(i => (long)i)), $"attempt {attempt}");
        }
    }

    [TestCase("Text/Event-Stream", true)]
    [TestCase("application/json, text/event-stream;q=0.5", true)]
    [TestCase("text/event-stream ; charset=utf-8", true)]
    [TestCase("text/event-stream;q=0", false)]
    [TestCase("text/event-stream; q=0.000", false)]
    [TestCase("*/*", false)]
    [TestCase("text/*", false)]
    [TestCase("text/event-streams", false)]
    public async Task Accept_picks_the_stream_by_media_type_in_any_case_and_not_when_weighed_zero(string accept, bool streams)
    {
        var (_, token) = NewUser();

        using var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token, """{"models":["m"],"contexts":["1K"],"runs":1,"step_ms":60000}""", accept);

        Assert.That(sse.Head.Status, Is.EqualTo(streams ? 200 : 202), sse.Head.Head);
        Assert.That(sse.Head.Header("Content-Type"), streams ? Does.StartWith("text/event-stream") : Does.StartWith("application/json"));
    }

    [Test]
    public async Task Without_Accept_text_event_stream_it_is_202_with_the_id_and_runs_in_the_background()
    {
        var (alice, token) = NewUser();

        var reply = await Server.PostAsync("/api/benchmark", token, """{"models":["m"],"runs":2,"contexts":["1K"],"step_ms":5}""");

        Assert.That(reply.Status, Is.EqualTo(202), reply.ToString());
        Assert.That(Json.Keys(reply.Json), Is.EqualTo(new[] { "process_id" }));
        string id = reply.Json.Str("process_id");
        using var sse = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var events = await sse.ReadToTerminalAsync();
        Assert.That(events.Select(e => e.Event), Is.EqualTo(new[] { "process_started", "process_progress", "process_progress", "process_completed" }));
        Assert.That(events[0].Json.Str("owner"), Is.EqualTo(alice));
    }

    [TestCase("""{"models":[],"contexts":["1K"]}""", TestName = "Benchmark_400_empty_models")]
    [TestCase("""{"contexts":["1K"]}""", TestName = "Benchmark_400_missing_models")]
    [TestCase("""{"models":["m"],"contexts":[]}""", TestName = "Benchmark_400_empty_contexts")]
    [TestCase("""{"models":["m",""],"contexts":["1K"]}""", TestName = "Benchmark_400_empty_model_name")]
    [TestCase("""{"models":["m",3],"contexts":["1K"]}""", TestName = "Benchmark_400_model_not_a_string")]
    [TestCase("""{"models":["m"],"contexts":["1K"],"runs":0}""", TestName = "Benchmark_400_runs_0")]
    [TestCase("""{"models":["m"],"contexts":["1K"],"runs":"3"}""", TestName = "Benchmark_400_runs_a_string")]
    [TestCase("""{"models":["m"],"contexts":["1K"],"step_ms":-1}""", TestName = "Benchmark_400_step_ms_negative")]
    [TestCase("""{"models":["m"],"contexts":["1K"],"step_ms":"fast"}""", TestName = "Benchmark_400_step_ms_a_string")]
    [TestCase("""{"models":["m"],"contexts":["1K"],"step_ms":2.5}""", TestName = "Benchmark_400_step_ms_fractional")]
    [TestCase("""{"models":["m"],"contexts":["1K"],"step_ms":600001}""", TestName = "Benchmark_400_step_ms_too_large")]
    [TestCase("""{"models":["m"],"contexts":["1K","5K"],"fail_at":0}""", TestName = "Benchmark_400_fail_at_0")]
    [TestCase("""{"models":["m"],"contexts":["1K","5K"],"fail_at":3}""", TestName = "Benchmark_400_fail_at_past_the_last_step")]
    [TestCase("""{"models":["m"],"contexts":["1K"],"runs":1000,"step_ms":0,"fail_at":"1"}""", TestName = "Benchmark_400_fail_at_a_string")]
    [TestCase("""{"models":["a","b","c","d","e","f","g","h","i","j"],"contexts":["1","2","3","4","5","6","7","8","9","10","11"],"runs":1000}""", TestName = "Benchmark_400_too_many_steps")]
    [TestCase("""{"models":["m"],"contexts":""", TestName = "Benchmark_400_malformed_JSON")]
    [TestCase("""["m"]""", TestName = "Benchmark_400_not_an_object")]
    [TestCase("", TestName = "Benchmark_400_empty_body")]
    public async Task A_bad_plan_is_400_and_starts_nothing(string body)
    {
        var (_, token) = NewUser();

        var plain = await Server.PostAsync("/api/benchmark", token, body);
        using var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token, body);

        Assert.That(plain.Status, Is.EqualTo(400), plain.ToString());
        Assert.That(plain.ErrorCode, Is.EqualTo("bad_request"));
        Assert.That(plain.Json.GetProperty("error").Str("message"), Is.Not.Empty);
        Assert.That(sse.Head.Status, Is.EqualTo(400), "with Accept: text/event-stream too: " + sse.Head.Head);
        var list = await Server.GetAsync("/api/processes", token);
        Assert.That(list.Json.GetProperty("processes").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task A_benchmark_needs_a_token()
    {
        var reply = await Server.PostAsync("/api/benchmark", token: null, """{"models":["m"],"contexts":["1K"]}""");

        Assert.That(reply.Status, Is.EqualTo(401), reply.ToString());
        Assert.That(reply.Header("WWW-Authenticate"), Is.EqualTo("Bearer"));
    }

    [Test]
    public async Task Fail_at_fails_the_run_at_that_step_with_an_error_message()
    {
        var (_, token) = NewUser();

        using var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token,
            """{"models":["m1","m2"],"runs":1,"contexts":["1K","5K"],"step_ms":5,"fail_at":3}""");
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var events = await sse.ReadToTerminalAsync();
        await sse.AssertClosedAsync();

        Assert.That(events.Select(e => e.Event), Is.EqualTo(new[] { "process_started", "process_progress", "process_progress", "process_failed" }));
        Assert.That(events.Select(e => e.Id), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        var failed = events[^1].Json;
        var error = failed.GetProperty("error");
        Assert.That(error.Str("message"), Does.Contain("step 3"));
        Assert.That(error.Str("message"), Does.Contain("m2"));
        Assert.That(error.Str("code"), Is.Not.Empty);
        Assert.That(failed.Long("duration_ms"), Is.GreaterThanOrEqualTo(0));
        var process = await Server.GetProcessAsync(failed.Str("process_id"), token);
        Assert.That(process.Str("status"), Is.EqualTo("failed"));
        Assert.That(Json.DeepEquals(process.GetProperty("progress"), """{"current":2,"total":4,"model":"m1","detail":"Run 1/1, Context 5K"}"""), Is.True, process.ToString());
    }

    [Test]
    public async Task Fail_at_the_first_step_fails_before_any_progress()
    {
        var (_, token) = NewUser();

        using var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token, """{"models":["m"],"contexts":["1K"],"step_ms":0,"fail_at":1}""");
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var events = await sse.ReadToTerminalAsync();

        Assert.That(events.Select(e => e.Event), Is.EqualTo(new[] { "process_started", "process_failed" }));
    }

    [Test]
    public async Task A_cancel_over_the_WebSocket_reaches_the_SSE_stream_and_stops_the_runner()
    {
        var (alice, token) = NewUser();
        var (socket, _) = await Server.OpenTabWithTokenAsync(token);
        await using var _ = socket;
        // Long enough that it cannot finish before the cancel: 10 x 10 x 10 = 1,000 steps of 20 ms.
        const string plan = """{"models":["m0","m1","m2","m3","m4","m5","m6","m7","m8","m9"],"runs":10,"contexts":["1K","2K","3K","4K","5K","6K","7K","8K","9K","10K"],"step_ms":20}""";
        using var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token, plan);
        Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var started = await sse.ReadEventAsync();
        string id = started.Json.Str("process_id");
        Assert.That(started.Json.GetProperty("progress").Long("total"), Is.EqualTo(1000));
        var firstProgress = await sse.ReadEventAsync();
        Assert.That(firstProgress.Event, Is.EqualTo("process_progress"));

        await socket.SendJsonAsync(new { type = "cancel_process", process_id = id, request_id = "c1" });

        // The SSE stream: maybe more progress sent before the cancel landed, then process_cancelled, then the end.
        var rest = await sse.ReadToTerminalAsync();
        await sse.AssertClosedAsync();
        var sseCancelled = rest[^1];
        Assert.That(sseCancelled.Event, Is.EqualTo("process_cancelled"));
        Assert.That(sseCancelled.Json.Str("cancelled_by"), Is.EqualTo(alice));
        Assert.That(sseCancelled.Json.Long("duration_ms"), Is.GreaterThanOrEqualTo(0));
        Assert.That(rest.Select(e => e.Id), Is.EqualTo(Enumerable.Range(3, rest.Count).Select(i => (long)i)), "no gap before the cancel");

        // The WebSocket: the same events of this process, the same cancelled message, and nothing after it.
        var wsCancelled = await socket.ReceiveUntilAsync(m => m.Type == "process_cancelled" && m.ProcessId == id);
        Assert.That(wsCancelled.Text, Is.EqualTo(sseCancelled.Data), "both see the very same process_cancelled");
        var afterCancel = await HubTestHost.DrainWithPingAsync(socket, "after");
        Assert.That(afterCancel, Is.Empty,
            "no progress (and no error reply) after the cancel");

        Assert.That(Server.App.Producer.Find(id)!.CancellationToken.IsCancellationRequested, Is.True, "the runner's token fired");
        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.Str("status"), Is.EqualTo("cancelled"));
        Assert.That(process.Long("seq"), Is.EqualTo(sseCancelled.Id), "nothing was published after process_cancelled");
        Assert.That(process.GetProperty("progress").Long("current"), Is.LessThan(1000));
    }

    [Test]
    public async Task Closing_the_benchmark_stream_does_not_stop_the_run()
    {
        var (_, token) = NewUser();
        string id;
        using (var sse = await SseClient.PostAsync(Server.EndPoint, "/api/benchmark", token, """{"models":["m"],"runs":4,"contexts":["1K","5K"],"step_ms":10}"""))
        {
            Assert.That(await sse.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
            id = (await sse.ReadEventAsync()).Json.Str("process_id");
        }

        using var watcher = await SseClient.GetAsync(Server.EndPoint, $"/api/processes/{id}/events", token);
        Assert.That(await watcher.ReadBlockAsync(), Is.EqualTo("retry: 3000"));
        var events = await watcher.ReadToTerminalAsync();

        Assert.That(events[^1].Event, Is.EqualTo("process_completed"));
        Assert.That(events.Count(e => e.Event == "process_progress"), Is.EqualTo(8));
    }
}
