using System.Net.Sockets;
using System.Text.Json;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessHub.Hub;
using ProcessHub.Tests.Hub;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Client;

/// <summary>
/// The producer client against a real hub's HTTP API, watched by the watcher client: a worker's whole run, a cancel
/// learned from 409, and retries after 429's Retry-After.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class HubProducerTests
{
    private static Uri BaseUrl(HubTestHost host) => new($"http://{host.App.LocalEndPoint}");

    private static HubWatcher Watcher(HubTestHost host, string subject) => new(new Uri($"ws://{host.App.LocalEndPoint}/ws"), host.Token(subject));

    [Test]
    public async Task A_worker_drives_a_process_end_to_end_and_a_watcher_sees_every_step()
    {
        await using var host = HubTestHost.Start();
        using var producer = new HubProducer(BaseUrl(host), host.Token("alice"));
        await using var events = new WatchedEvents(Watcher(host, "alice"));
        await events.NextAsync<ProcessListed>();

        using var run = await producer.StartAsync("eval", total: 3, parameters: new { suite = "mmlu" });
        Assert.That(await run.ReportAsync(1, 3, "GPT-4o", "shard 1"), Is.False, "not cancelled");
        using var own = JsonDocument.Parse("""{"current":2,"total":3,"detail":"shard 2","tokens_per_s":41.5}""");
        Assert.That(await run.ReportAsync(own.RootElement), Is.False);
        Assert.That(await run.CompleteAsync(new { accuracy = 0.91 }), Is.True);

        var started = await events.NextAsync<ProcessStarted>();
        var first = await events.NextAsync<ProcessProgress>();
        var second = await events.NextAsync<ProcessProgress>();
        var completed = await events.NextAsync<ProcessCompleted>();
        Assert.Multiple(() =>
        {
            Assert.That(started.ProcessId, Is.EqualTo(run.ProcessId));
            Assert.That(started.Owner, Is.EqualTo("alice"));
            Assert.That(started.Parameters!.Value.GetProperty("suite").GetString(), Is.EqualTo("mmlu"));
            Assert.That((first.Progress.Current, first.Progress.Total, first.Progress.Model, first.Progress.Detail), Is.EqualTo((1L, 3L, "GPT-4o", "shard 1")));
            Assert.That(second.Progress.Json.GetRawText(), Is.EqualTo(own.RootElement.GetRawText()), "the worker's own object, verbatim");
            Assert.That(completed.Result!.Value.GetProperty("accuracy").GetDouble(), Is.EqualTo(0.91));
            Assert.That(run.IsCancellationRequested, Is.False);
        });
    }

    [Test]
    public async Task Text_that_is_not_ascii_goes_out_as_it_is_and_counts_as_its_utf8_bytes()
    {
        // 1,000 Chinese characters are 3,000 bytes of UTF-8 and 6,000 as \u escapes: the hub refused the report as
        // progress larger than 4,096 bytes, which the same report sent by curl was not, and watchers read the escapes.
        await using var host = HubTestHost.Start();
        using var producer = new HubProducer(BaseUrl(host), host.Token("alice"));
        await using var events = new WatchedEvents(Watcher(host, "alice"));
        await events.NextAsync<ProcessListed>();
        string detail = new('模', 1000);
        string notes = "é ü " + new string('模', 3000);

        using var run = await producer.StartAsync("cjk", total: 3, parameters: new { notes });
        Assert.That(await run.ReportAsync(1, 3, "模型", detail), Is.False);
        Assert.That(await run.CompleteAsync(new { summary = "完成 ✓" }), Is.True);

        var started = await events.NextAsync<ProcessStarted>();
        var progress = await events.NextAsync<ProcessProgress>();
        var completed = await events.NextAsync<ProcessCompleted>();
        Assert.Multiple(() =>
        {
            Assert.That(started.Parameters!.Value.GetProperty("notes").GetString(), Is.EqualTo(notes));
            Assert.That(started.Parameters!.Value.GetRawText(), Does.Not.Contain("\\u"), "sent as it is, not escaped");
            Assert.That((progress.Progress.Model, progress.Progress.Detail), Is.EqualTo(("模型", detail)));
            Assert.That(progress.Progress.Json.GetRawText(), Does.Not.Contain("\\u"));
            Assert.That(completed.Result!.Value.GetRawText(), Is.EqualTo("""{"summary":"完成 ✓"}"""));
        });
    }

    [Test]
    public async Task A_failed_run_reaches_the_watcher_with_its_message_and_code()
    {
        await using var host = HubTestHost.Start();
        using var producer = new HubProducer(BaseUrl(host), host.Token("alice"));
        await using var events = new WatchedEvents(Watcher(host, "alice"));
        await events.NextAsync<ProcessListed>();

        using var run = await producer.StartAsync("transcode");
        Assert.That(await run.FailAsync("GPU lost", "oom"), Is.True);

        var failed = await events.NextAsync<ProcessFailed>();
        Assert.That((failed.ProcessId, failed.ErrorMessage, failed.ErrorCode), Is.EqualTo((run.ProcessId, "GPU lost", "oom")));
        var twice = Assert.ThrowsAsync<HubRequestException>(async () => await run.CompleteAsync());
        Assert.That((twice!.StatusCode, twice.Code), Is.EqualTo(((int?)409, "conflict")), "an ended process cannot end again");
    }

    [Test]
    public async Task A_worker_learns_of_a_cancel_from_the_409_of_its_next_report()
    {
        await using var host = HubTestHost.Start();
        using var producer = new HubProducer(BaseUrl(host), host.Token("alice"));
        var watcher = Watcher(host, "alice");
        await using var events = new WatchedEvents(watcher);
        await events.NextAsync<ProcessListed>();
        using var run = await producer.StartAsync("eval", total: 3);
        Assert.That(await run.ReportAsync(1, 3), Is.False);

        var cancelling = watcher.CancelAsync(run.ProcessId);
        await events.NextAsync<ProcessCancelled>(c => c.ProcessId == run.ProcessId);
        await cancelling.WaitAsync(TestTimeouts.Receive);
        Assert.That(run.IsCancellationRequested, Is.False, "nothing tells an HTTP worker before it calls");

        Assert.That(await run.ReportAsync(2, 3), Is.True, "the report answers: cancelled");
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.True);
        Assert.That(await run.CompleteAsync(), Is.False, "nothing to complete: it was cancelled");
    }

    [Test]
    public async Task A_cancel_is_the_reports_answer_even_when_a_callback_on_the_runs_token_throws_or_the_run_was_disposed()
    {
        // From an audit: a worker's own callback that threw made ReportAsync throw AggregateException instead of
        // returning true, and a report on a disposed run threw ObjectDisposedException.
        await using var host = HubTestHost.Start();
        using var producer = new HubProducer(BaseUrl(host), host.Token("alice"));
        var run = await producer.StartAsync("eval", total: 3);
        var disposed = await producer.StartAsync("eval", total: 3);
        int called = 0;
        run.CancellationToken.Register(() => throw new InvalidOperationException("the worker's own bug"));
        run.CancellationToken.Register(() => Interlocked.Increment(ref called));
        disposed.Dispose();
        foreach (var id in new[] { run.ProcessId, disposed.ProcessId })
        {
            var cancel = await RawHttpClient.PostAsync(host.App.LocalEndPoint, $"/api/processes/{id}/cancel", host.Token("alice"), null);
            Assert.That(cancel.Status, Is.EqualTo(200), cancel.ToString());
        }

        Assert.That(await run.ReportAsync(1, 3), Is.True, "cancelled");
        Assert.That((called, run.IsCancellationRequested), Is.EqualTo((1, true)), "every callback ran");
        Assert.That(await disposed.ReportAsync(1, 3), Is.True, "cancelled, though nothing listens");
        run.Dispose();
    }

    [Test]
    public async Task A_hub_url_with_a_path_keeps_it_for_every_request()
    {
        // Behind a reverse proxy under a prefix (https://example.com/processhub/): the path was dropped, so every
        // request went to /api/... at the proxy's root. Here the hub itself answers 404 for the prefixed path.
        await using var host = HubTestHost.Start();
        var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{host.App.LocalEndPoint}/processhub/"), Token = host.Token("alice"), HttpClient = http, MaxRetries = 0 });

        var refused = Assert.ThrowsAsync<HubRequestException>(async () => await producer.StartAsync("eval", total: 2));
        using var run = producer.Attach("0123456789abcdef");
        Assert.ThrowsAsync<HubRequestException>(async () => await run.ReportAsync(1, 2));

        Assert.That(refused!.StatusCode, Is.EqualTo(404));
        Assert.That(handler.Paths, Is.EqualTo(new[] { "/processhub/api/processes", "/processhub/api/processes/0123456789abcdef/progress" }));

        // A path that starts with "//" stays a path on the same host: resolved as a reference it named host "x".
        using var slashes = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{host.App.LocalEndPoint}//x/"), Token = host.Token("alice"), HttpClient = http, MaxRetries = 0 });
        var sameHost = Assert.ThrowsAsync<HubRequestException>(async () => await slashes.StartAsync("eval", total: 2));
        Assert.That((sameHost!.StatusCode, handler.Paths.Last()), Is.EqualTo((404, "//x/api/processes")));
    }

    [Test]
    public async Task Requests_refused_with_429_are_retried_after_Retry_After()
    {
        // One request a second, on the hub's clock: a fake one that stands still until the client has met a 429,
        // then moves on a second so the retry goes through. The client's wait is capped short: how long it honours
        // Retry-After is RetryDelay's, in ClientUnitTests; here it is that a 429 is retried, not a real second passing.
        await using var host = HubTestHost.Start(new HubOptions { ApiRequestsPerSecond = 1 }, fakeTime: true);
        var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = BaseUrl(host), Token = host.Token("alice"), HttpClient = http, MaxRetryDelay = TimeSpan.FromMilliseconds(200) });

        using var run = await producer.StartAsync("eval", total: 2);
        var report = run.ReportAsync(1, 2);
        await RefusedThenRefilledAsync(host, handler, refusals: 1);
        Assert.That(await report, Is.False);
        var complete = run.CompleteAsync();
        await RefusedThenRefilledAsync(host, handler, refusals: 2);
        Assert.That(await complete, Is.True);

        var statuses = handler.Statuses.ToList();
        Assert.That(statuses.Where(s => s != 429), Is.EqualTo(new[] { 201, 200, 200 }), "every call succeeded in the end: " + string.Join(", ", statuses));
        Assert.That(host.App.Registry.Find(run.ProcessId)!.Value.Status, Is.EqualTo(ProcessStatus.Completed));
    }

    [Test]
    public async Task A_start_retried_after_a_503_that_came_after_it_was_stored_is_the_first_process_not_a_second()
    {
        await using var host = HubTestHost.Start();
        var handler = new LostAnswerHandler();
        using var http = new HttpClient(handler);
        // The client waits Retry-After before its retry, capped short here: the wait is not what is tested.
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = BaseUrl(host), Token = host.Token("alice"), HttpClient = http, MaxRetryDelay = TimeSpan.FromMilliseconds(50) });

        using var run = await producer.StartAsync("eval", total: 2);
        using var another = await producer.StartAsync("eval", total: 2);

        string stored = JsonDocument.Parse(handler.LostAnswer!).RootElement.GetProperty("process_id").GetString()!;
        var keys = handler.StartKeys.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(run.ProcessId, Is.EqualTo(stored), "the retry named the process the lost answer was about");
            Assert.That(keys, Has.Count.EqualTo(3), "two attempts of the first start, one of the second");
            Assert.That(keys[0], Is.Not.Null.And.Not.Empty, "a start sends a key");
            Assert.That(keys[1], Is.EqualTo(keys[0]), "its retry sends the same key");
            Assert.That(keys[2], Is.Not.EqualTo(keys[0]), "another start, another key");
            Assert.That(another.ProcessId, Is.Not.EqualTo(run.ProcessId));
        });
        Assert.That(host.App.Registry.SnapshotVisible(new ProcessHub.Auth.UserIdentity("alice", IsAdmin: false, IsProducer: false, DateTimeOffset.MaxValue)), Has.Count.EqualTo(2),
            "one process per start: the retry made none");
    }

    [Test]
    public async Task A_start_whose_connection_dropped_before_the_answer_is_sent_again_with_its_key_and_names_the_first_process()
    {
        // From an audit: a start that got no answer threw, and the worker's own retry (a new call, a new key) made a
        // second process. The hub may have stored it: the key makes sending it again safe.
        await using var host = HubTestHost.Start();
        var handler = new LostAnswerHandler(dropConnection: true);
        using var http = new HttpClient(handler);
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = BaseUrl(host), Token = host.Token("alice"), HttpClient = http, MaxRetryDelay = TimeSpan.FromMilliseconds(50) });

        using var run = await producer.StartAsync("eval", total: 2);

        string stored = JsonDocument.Parse(handler.LostAnswer!).RootElement.GetProperty("process_id").GetString()!;
        var keys = handler.StartKeys.ToList();
        Assert.That(run.ProcessId, Is.EqualTo(stored), "the second attempt named the process the lost answer was about");
        Assert.That((keys.Count, keys[1]), Is.EqualTo((2, keys[0])), "two attempts, one key");
        Assert.That(host.App.Registry.SnapshotVisible(new ProcessHub.Auth.UserIdentity("alice", IsAdmin: false, IsProducer: false, DateTimeOffset.MaxValue)), Has.Count.EqualTo(1),
            "one process: the second attempt made none");
    }

    [Test]
    public async Task A_token_read_from_a_file_with_its_newline_works_for_the_producer_as_for_the_watcher()
    {
        // From an audit: File.ReadAllText's newline made every producer call throw FormatException ("New-line or NUL
        // characters are not allowed in header values"), while the watcher took the same token.
        await using var host = HubTestHost.Start();
        string fromFile = host.Token("alice") + "\n";
        using var producer = new HubProducer(BaseUrl(host), fromFile);
        using var provided = new HubProducer(new HubProducerOptions { HubUrl = BaseUrl(host), TokenProvider = _ => ValueTask.FromResult(" " + fromFile + "\r\n") });
        await using var events = new WatchedEvents(new HubWatcher(new Uri($"ws://{host.App.LocalEndPoint}/ws"), fromFile));
        await using var providedEvents = new WatchedEvents(new HubWatcher(new HubWatcherOptions { Url = new Uri($"ws://{host.App.LocalEndPoint}/ws"), TokenProvider = _ => ValueTask.FromResult(fromFile + "\t") }));
        await events.NextAsync<ProcessListed>();
        await providedEvents.NextAsync<ProcessListed>();

        using var run = await producer.StartAsync("eval", total: 2);
        using var other = await provided.StartAsync("eval", total: 2);
        Assert.That(await run.ReportAsync(1, 2), Is.False);
        Assert.That(await other.ReportAsync(1, 2), Is.False);
        var started = await events.NextAsync<ProcessStarted>();
        Assert.That(started.Owner, Is.EqualTo("alice"));
    }

    [Test]
    public void Params_or_a_result_that_cannot_be_written_as_JSON_are_an_ArgumentException_before_anything_is_sent()
    {
        // From an audit: an object that refers to itself threw the serializer's JsonException, which the docs do not
        // list; they promise ArgumentException for a bad argument.
        var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri("http://127.0.0.1:8501"), Token = "t", HttpClient = http });
        var cycle = new Dictionary<string, object>();
        cycle["self"] = cycle;
        using var run = producer.Attach("0123456789abcdef");

        var start = Assert.ThrowsAsync<ArgumentException>(async () => await producer.StartAsync("eval", 1, (object)cycle));
        var complete = Assert.ThrowsAsync<ArgumentException>(async () => await run.CompleteAsync(cycle));

        Assert.That(start!.Message, Does.StartWith("the value cannot be written as JSON"));
        Assert.That(complete!.Message, Does.StartWith("the value cannot be written as JSON"));
        Assert.That(handler.Paths, Is.Empty, "nothing went out");
    }

    [TestCase("<html>ok</html>", "text/html")]
    [TestCase("", "text/plain")]
    [TestCase("""["a"]""", "application/json")]
    [TestCase("\"started\"", "application/json")]
    public void A_start_answered_201_with_no_json_object_is_a_bad_response(string body, string mediaType)
    {
        // From an audit: a 2xx whose body was not a JSON object (a proxy's page) threw InvalidOperationException
        // ("Operation is not valid due to the current state of the object") where the docs promise bad_response.
        using var http = new HttpClient(new FixedAnswerHandler(System.Net.HttpStatusCode.Created, body, mediaType));
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri("http://127.0.0.1:8501"), Token = "t", HttpClient = http });

        var refused = Assert.ThrowsAsync<HubRequestException>(async () => await producer.StartAsync("eval"));

        Assert.That((refused!.Code, refused.StatusCode), Is.EqualTo(("bad_response", (int?)201)));
    }

    [Test]
    public void A_refusal_without_the_hubs_JSON_is_http_error_and_does_not_blame_the_hub()
    {
        // From an audit: a proxy's HTML page was "the hub refused the request", though it never reached the hub.
        using var http = new HttpClient(new FixedAnswerHandler(System.Net.HttpStatusCode.NotFound, "<html>404 Not Found</html>", "text/html"));
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri("http://127.0.0.1:8501"), Token = "t", HttpClient = http });

        var refused = Assert.ThrowsAsync<HubRequestException>(async () => await producer.StartAsync("eval"));

        Assert.That((refused!.Code, refused.StatusCode), Is.EqualTo(("http_error", (int?)404)));
        Assert.That(refused.Message, Does.Contain("HTTP 404 without the hub's JSON error: from the hub, or from a proxy in front of it"));
    }

    [Test]
    public async Task A_host_name_that_does_not_exist_before_the_hub_ever_answered_fails_the_start_at_once()
    {
        // Seen: a start to a mistyped host was retried for about 15 s, as if the hub were restarting, where watch
        // says at once that the name does not resolve.
        await using var host = HubTestHost.Start();
        var handler = FailingResolverHandler.Create(host.App.LocalEndPoint, SocketError.HostNotFound, failFirst: 10);
        using var http = new HttpClient(handler);
        using var producer = Producer("http://no-such-hub:8501", host.Token("alice"), http);

        var failed = Assert.ThrowsAsync<HttpRequestException>(async () => await producer.StartAsync("eval"));

        Assert.That((failed!.HttpRequestError, handler.Failed), Is.EqualTo((HttpRequestError.NameResolutionError, 1)), "one attempt, not retried");
    }

    [Test]
    public async Task A_resolver_that_cannot_be_asked_at_the_first_start_is_waited_out()
    {
        // TryAgain is a resolver away (no network yet), not a name that does not exist: it may well pass. A control for
        // the test above (starts were retried on it before the change too): the typo rule must not catch it.
        await using var host = HubTestHost.Start();
        var handler = FailingResolverHandler.Create(host.App.LocalEndPoint, SocketError.TryAgain, failFirst: 2);
        using var http = new HttpClient(handler);
        using var producer = Producer("http://hub.internal:8501", host.Token("alice"), http);

        using var run = await producer.StartAsync("eval");

        Assert.That(handler.Failed, Is.EqualTo(2));
        var process = await RawHttpClient.GetAsync(host.App.LocalEndPoint, $"/api/processes/{run.ProcessId}", host.Token("alice"));
        Assert.That(process.Json.GetProperty("status").GetString(), Is.EqualTo("running"), process.ToString());
    }

    [Test]
    public async Task Once_the_hub_answered_a_name_that_stops_resolving_is_waited_out_by_a_report_as_a_refused_connection_is()
    {
        // A hub's container restarting drops its name from the network's DNS (docker compose does): the report sent
        // nothing, yet it failed at once, where a refused connection is retried.
        await using var host = HubTestHost.Start();
        var handler = FailingResolverHandler.Create(host.App.LocalEndPoint, SocketError.HostNotFound, failFirst: 0);
        using var http = new HttpClient(handler);
        using var producer = Producer("http://hub.internal:8501", host.Token("alice"), http);
        using var run = await producer.StartAsync("eval", total: 3);

        handler.FailNext(2);
        Assert.That(await run.ReportAsync(1, 3), Is.False);

        Assert.That(handler.Failed, Is.EqualTo(2));
        var process = await RawHttpClient.GetAsync(host.App.LocalEndPoint, $"/api/processes/{run.ProcessId}", host.Token("alice"));
        Assert.That(process.Json.GetProperty("progress").GetProperty("current").GetInt64(), Is.EqualTo(1), process.ToString());
    }

    private static HubProducer Producer(string url, string token, HttpClient http) =>
        new(new HubProducerOptions { HubUrl = new Uri(url), Token = token, HttpClient = http, MaxRetryDelay = TimeSpan.FromMilliseconds(10) });

    [Test]
    public async Task Dispose_ends_a_call_waiting_to_retry_at_once_and_later_calls_alike_with_ObjectDisposedException()
    {
        // From an audit: a start waiting out a Retry-After stayed pending after Dispose, then failed with an
        // ObjectDisposedException that named the HttpClient. The wait here is an hour: only Dispose can end it.
        var handler = new RetryLaterHandler(TimeSpan.FromHours(1));
        using var http = new HttpClient(handler);
        var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri("http://127.0.0.1:8501"), Token = "t", HttpClient = http, MaxRetryDelay = TimeSpan.FromHours(1) });
        var start = producer.StartAsync("eval");
        await handler.Answered.WaitAsync(TestTimeouts.Receive);

        producer.Dispose();
        var disposed = Assert.ThrowsAsync<ObjectDisposedException>(async () => await start.WaitAsync(TestTimeouts.Receive));
        Assert.That(disposed!.ObjectName, Is.EqualTo(typeof(HubProducer).FullName));

        var later = Assert.ThrowsAsync<ObjectDisposedException>(async () => await producer.StartAsync("eval"));
        Assert.That(later!.ObjectName, Is.EqualTo(typeof(HubProducer).FullName));
        using var run = producer.Attach("0123456789abcdef");
        var report = Assert.ThrowsAsync<ObjectDisposedException>(async () => await run.ReportAsync(1, 2));
        Assert.That(report!.ObjectName, Is.EqualTo(typeof(HubProducer).FullName));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Dispose_ends_a_request_in_flight_with_ObjectDisposedException_not_a_cancellation(bool ownHttpClient)
    {
        // From an audit: a request in flight at Dispose failed with TaskCanceledException "The operation was
        // canceled", which reads as the caller's own cancellation; with an HttpClient of the caller's (which the
        // producer does not dispose) it went on waiting for an answer.
        await using var server = new SilentServer();
        using var http = ownHttpClient ? null : new HttpClient();
        var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{server.EndPoint}"), Token = "t", HttpClient = http });
        using var run = producer.Attach("0123456789abcdef");
        var report = run.ReportAsync(1, 2);
        await server.Accepted.WaitAsync(TestTimeouts.Receive);

        producer.Dispose();
        var disposed = Assert.ThrowsAsync<ObjectDisposedException>(async () => await report.WaitAsync(TestTimeouts.Receive));
        Assert.That(disposed!.ObjectName, Is.EqualTo(typeof(HubProducer).FullName));
    }

    [Test]
    public async Task The_callers_own_cancellation_stays_a_cancellation()
    {
        await using var server = new SilentServer();
        using var producer = new HubProducer(new Uri($"http://{server.EndPoint}"), "t");
        using var run = producer.Attach("0123456789abcdef");
        using var cancel = new CancellationTokenSource();
        var report = run.ReportAsync(1, 2, cancellationToken: cancel.Token);
        await server.Accepted.WaitAsync(TestTimeouts.Receive);

        await cancel.CancelAsync();
        Assert.That(async () => await report.WaitAsync(TestTimeouts.Receive), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>Waits until the client has met its <paramref name="refusals"/>th 429, then refills the budget.</summary>
    private static async Task RefusedThenRefilledAsync(HubTestHost host, RecordingHandler handler, int refusals)
    {
        await Eventually.HoldsAsync(() => handler.Statuses.Count(s => s == 429) >= refusals, $"429 number {refusals}");
        host.Time!.Advance(TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task Past_its_retries_a_429_is_an_exception_with_the_hubs_code()
    {
        // The hub's clock stands still: the second request is over the budget however slow the machine.
        await using var host = HubTestHost.Start(new HubOptions { ApiRequestsPerSecond = 1 }, fakeTime: true);
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = BaseUrl(host), Token = host.Token("alice"), MaxRetries = 0 });

        using var run = await producer.StartAsync("eval");
        var refused = Assert.ThrowsAsync<HubRequestException>(async () => await run.ReportAsync(1, 2));
        Assert.That((refused!.StatusCode, refused.Code), Is.EqualTo(((int?)429, "rate_limited")));
    }
}
