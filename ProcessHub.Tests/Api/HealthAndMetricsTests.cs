using System.Net.WebSockets;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>GET /healthz and GET /metrics, each test on a fresh hub so the numbers are exact.</summary>
[TestFixture]
[Category("socket")]
internal sealed class HealthAndMetricsTests
{
    private static readonly string[] MetricNames =
    [
        "processhub_websocket_connections", "processhub_tcp_connections", "processhub_sse_streams", "processhub_processes", "processhub_history_bytes", "processhub_history_trimmed_events_total",
        "processhub_messages_sent_total", "processhub_bytes_sent_total", "processhub_socket_sends_total",
        "processhub_events_published_total", "processhub_progress_coalesced_total", "processhub_slow_consumer_closes_total",
        "processhub_auth_failures_total", "processhub_websocket_closes_total",
        // The store's, there (at 0) whatever the store (docs/protocol.md 1.7).
        "processhub_store_commits_total", "processhub_store_events_written_total", "processhub_store_commit_seconds_total",
        "processhub_store_checkpoints_total", "processhub_store_checkpoint_failures_total", "processhub_store_checkpoint_seconds_total",
        "processhub_store_checkpoint_longest_seconds", "processhub_store_log_frames", "processhub_store_log_restarts_total",
        "processhub_store_log_restart_seconds_total",
    ];

    private HubTestHost _server = null!;

    [SetUp]
    public void Start() => _server = HubTestHost.Start();

    [TearDown]
    public async Task Stop() => await _server.DisposeAsync();

    [Test]
    public async Task Healthz_reports_status_uptime_connections_and_processes()
    {
        var empty = await _server.GetAsync("/healthz", token: null);
        string token = _server.Token("alice");
        await _server.CreateAsync(token);
        await _server.CreateAsync(token);
        var (socket, _) = await _server.OpenTabWithTokenAsync(token);
        await using var _ = socket;

        var busy = await _server.GetAsync("/healthz", token: null);

        Assert.That(empty.Status, Is.EqualTo(200), empty.ToString());
        Assert.That(empty.Header("Content-Type"), Does.StartWith("application/json"));
        Assert.That(Json.Keys(empty.Json), Is.EqualTo(new[] { "connections", "data_path", "engine", "processes", "sse_streams", "status", "store", "uptime_seconds", "websockets" }));
        Assert.Multiple(() =>
        {
            Assert.That(empty.Json.Str("status"), Is.EqualTo("ok"));
            Assert.That(empty.Json.GetProperty("uptime_seconds").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(empty.Json.Long("connections"), Is.Zero);
            Assert.That(empty.Json.Long("processes"), Is.Zero);
            Assert.That(empty.Json.Str("store"), Is.EqualTo("memory"), "the API tests run on the memory store");
            Assert.That(empty.Json.GetProperty("data_path").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null), "nothing is kept on disk");
            Assert.That(empty.Json.GetProperty("engine").GetProperty("kind").GetString(), Is.EqualTo("local"), "no shared engine");
            Assert.That(empty.Json.GetProperty("engine").GetProperty("connected").GetBoolean(), Is.True);
            Assert.That(busy.Json.Long("connections"), Is.EqualTo(1));
            Assert.That((busy.Json.Long("websockets"), busy.Json.Long("sse_streams")), Is.EqualTo((1L, 0L)));
            Assert.That(busy.Json.Long("processes"), Is.EqualTo(2));
            Assert.That(busy.Json.GetProperty("uptime_seconds").GetDouble(), Is.GreaterThanOrEqualTo(empty.Json.GetProperty("uptime_seconds").GetDouble()));
        });
    }

    [Test]
    public async Task Healthz_and_metrics_need_no_token()
    {
        var health = await _server.GetAsync("/healthz", token: null);
        var metrics = await _server.GetAsync("/metrics", token: null);

        Assert.That(health.Status, Is.EqualTo(200));
        Assert.That(metrics.Status, Is.EqualTo(200));
    }

    [Test]
    public async Task Metrics_is_Prometheus_text_with_every_processhub_metric()
    {
        // Labelled counters appear once they have a series: give each one.
        await _server.GetAsync("/api/processes", CreateProcessTests.ForeignToken("x"));
        var (socket, _) = await _server.OpenTabWithTokenAsync(_server.Token("alice"));
        await socket.CloseAsync();
        await socket.DisposeAsync();
        await Eventually.HoldsAsync(ScrapeAsync, text => Sample(text, "processhub_websocket_closes_total", "code=\"1000\"") is not null, "a close series");

        var reply = await _server.GetAsync("/metrics", token: null);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(reply.Header("Content-Type"), Does.StartWith("text/plain; version=0.0.4"));
        foreach (var name in MetricNames)
        {
            Assert.That(reply.Text, Does.Contain($"# TYPE {name} "), name);
            Assert.That(reply.Text, Does.Contain($"# HELP {name} "), name);
        }
    }

    [Test]
    public async Task Metrics_include_the_process_and_the_runtime()
    {
        // An operator's first questions (memory, CPU, open files, GC) had no answer in /metrics.
        var reply = await _server.GetAsync("/metrics", token: null);

        foreach (var name in new[] { "process_working_set_bytes", "process_cpu_seconds_total", "process_open_handles", "process_num_threads", "dotnet_collection_count_total", "dotnet_total_memory_bytes" })
        {
            Assert.That(Sample(reply.Text, name, name == "dotnet_collection_count_total" ? "generation=\"0\"" : null), Is.Not.Null, $"{name} in:\n{reply.Text}");
        }
        Assert.That(Sample(reply.Text, "process_working_set_bytes"), Is.GreaterThan(0));
    }

    [Test]
    public async Task Events_published_grows_by_one_per_event_of_a_run()
    {
        string token = _server.Token("alice");
        double before = Sample(await ScrapeAsync(), "processhub_events_published_total") ?? 0;

        string id = await _server.CreateAsync(token);
        await _server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":3}""");
        await _server.PostAsync($"/api/processes/{id}/progress", token, """{"current":2,"total":3}""");
        await _server.PostAsync($"/api/processes/{id}/complete", token, null);

        var text = await ScrapeAsync();
        Assert.That(Sample(text, "processhub_events_published_total"), Is.EqualTo(before + 4), text);
        Assert.That(Sample(text, "processhub_processes"), Is.EqualTo(1), text);
    }

    [Test]
    public async Task Auth_failures_are_counted_by_reason()
    {
        await _server.GetAsync("/api/processes", CreateProcessTests.ForeignToken("x"));
        await _server.GetAsync("/api/processes", CreateProcessTests.ForeignToken("y"));
        await _server.GetAsync("/api/processes", CreateProcessTests.ExpiredToken("z"));

        var text = await ScrapeAsync();

        Assert.That(Sample(text, "processhub_auth_failures_total", "reason=\"invalid token\""), Is.EqualTo(2), text);
        Assert.That(Sample(text, "processhub_auth_failures_total", "reason=\"token expired\""), Is.EqualTo(1), text);
    }

    [Test]
    public async Task HTTP_responses_are_counted_by_status()
    {
        // An operator could not see the 4xx and 5xx rates: 401s were in the auth counter, 404s, 400s and 503s nowhere.
        await _server.GetAsync("/healthz", token: null);
        await _server.GetAsync("/no-such-endpoint", token: null);
        await _server.GetAsync("/api/processes", CreateProcessTests.ForeignToken("x"));
        await using (var client = await RawHttpClient.ConnectAsync(_server.EndPoint))
        {
            await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: other\r\n\r\n");
            Assert.That((await client.ReadResponseAsync()).Status, Is.EqualTo(400));
        }
        var (tab, _) = await _server.OpenTabWithTokenAsync(_server.Token("alice"));
        await using var _ = tab;

        var text = await ScrapeAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Sample(text, "processhub_http_responses_total", "status=\"200\""), Is.EqualTo(1), text);
            Assert.That(Sample(text, "processhub_http_responses_total", "status=\"404\""), Is.EqualTo(1), text);
            Assert.That(Sample(text, "processhub_http_responses_total", "status=\"401\""), Is.EqualTo(1), text);
            Assert.That(Sample(text, "processhub_http_responses_total", "status=\"400\""), Is.EqualTo(1), text);
            Assert.That(Sample(text, "processhub_http_responses_total", "status=\"101\""), Is.EqualTo(1), text);
        }
        var again = await ScrapeAsync();
        Assert.That(Sample(again, "processhub_http_responses_total", "status=\"200\""), Is.EqualTo(2), "the first scrape's own answer: " + again);
    }

    [Test]
    public async Task WebSocket_closes_are_counted_by_code()
    {
        var (normal, _) = await _server.OpenTabWithTokenAsync(_server.Token("alice"));
        await normal.CloseAsync();
        await normal.DisposeAsync();
        // A bad token: the server completes the upgrade, then closes with 4401 (docs/protocol.md section 2).
        await using (var rejected = await _server.ConnectAsync(queryToken: CreateProcessTests.ForeignToken("x")))
        {
            Assert.That((await rejected.ReceiveCloseAsync()).Status, Is.EqualTo(4401));
        }

        // The session counts its close and the server forgets the connection in two steps, in either order: both
        // are awaited, and then neither may be off (a close counted twice, or a connection never forgotten).
        var text = await Eventually.HoldsAsync(ScrapeAsync,
            t => Sample(t, "processhub_websocket_closes_total", "code=\"1000\"") >= 1 && Sample(t, "processhub_websocket_closes_total", "code=\"4401\"") >= 1
                && Sample(t, "processhub_websocket_connections") == 0,
            "closes counted by code and the connections gone");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Sample(text, "processhub_websocket_closes_total", "code=\"1000\""), Is.EqualTo(1), text);
            Assert.That(Sample(text, "processhub_websocket_closes_total", "code=\"4401\""), Is.EqualTo(1), text);
        }
    }

    [Test]
    public async Task Close_codes_a_client_chooses_are_counted_under_one_label()
    {
        // Any of 3000-4999 is a valid close code; a series per code would let clients grow the scrape without bound.
        // 4429 too: the hub's own code, but a client that sends it is no slow consumer.
        foreach (ushort code in new ushort[] { 4000, 3123, 4429 })
        {
            var (socket, _) = await _server.OpenTabWithTokenAsync(_server.Token("alice"));
            await socket.CloseAsync(code);
            await socket.DisposeAsync();
        }

        var text = await Eventually.HoldsAsync(ScrapeAsync,
            t => Sample(t, "processhub_websocket_closes_total", "code=\"other\"") >= 3 && Sample(t, "processhub_websocket_connections") == 0,
            "the three closes counted");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Sample(text, "processhub_websocket_closes_total", "code=\"other\""), Is.EqualTo(3), text);
            Assert.That(Sample(text, "processhub_slow_consumer_closes_total"), Is.EqualTo(0), text);
            Assert.That(Sample(text, "processhub_websocket_closes_total", "code=\"4000\""), Is.Null, text);
            Assert.That(Sample(text, "processhub_websocket_closes_total", "code=\"3123\""), Is.Null, text);
        }
    }

    [Test]
    public async Task Messages_sent_grow_when_a_WebSocket_client_receives_events()
    {
        string token = _server.Token("alice");
        var (socket, _) = await _server.OpenTabWithTokenAsync(token);
        await using var _ = socket;
        double before = Sample(await ScrapeAsync(), "processhub_messages_sent_total") ?? 0;

        await _server.CreateAsync(token);
        Assert.That((await socket.ReceiveAsync()).Type, Is.EqualTo("process_started"));

        // The send is counted once the socket has taken it, which can be just after the client has the frame.
        var text = await Eventually.HoldsAsync(ScrapeAsync, t => Sample(t, "processhub_messages_sent_total") > before, "the sent frame counted");
        Assert.That(Sample(text, "processhub_websocket_connections"), Is.EqualTo(1), text);
        Assert.That(Sample(text, "processhub_bytes_sent_total"), Is.GreaterThan(0), text);
    }

    private async Task<string> ScrapeAsync()
    {
        var reply = await _server.GetAsync("/metrics", token: null);
        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        return reply.Text;
    }

    /// <summary>The value of one sample line (<c>name{labels} value</c>), or null when the series is absent.</summary>
    private static double? Sample(string text, string name, string? labels = null) => PrometheusText.Sample(text, name, labels);
}
