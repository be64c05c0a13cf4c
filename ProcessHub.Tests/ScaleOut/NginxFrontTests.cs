using System.Net;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// docs/scale-out.md's nginx configuration, as users copy it, in front of two real hubs on one Redis: a tab's
/// WebSocket, a worker's reports and an SSE stream pass through it (the stream unbuffered), a tab of a killed hub
/// comes back through it to the other hub and resumes with <c>recovered: true</c>, the worker's next report is
/// served there, and the documented log format keeps the token a tab sends in its URL out of the access log.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class NginxFrontTests
{
    [Test]
    public async Task The_documented_configuration_carries_tabs_workers_and_SSE_and_a_killed_hubs_tab_resumes_through_it()
    {
        await using var deployment = await HubsBehindNginx.StartAsync();
        var (hub1, one, hub2, nginx) = (deployment.Hub1, deployment.One, deployment.Hub2, deployment.Nginx);
        string token = HubCluster.Token("alice");

        var (tab, list) = await RawWebSocketClient.OpenWithListAsync(nginx.EndPoint, token);
        await using var _tab = tab;
        Assert.That(list.Type, Is.EqualTo("process_list"));
        using var producer = new HubProducer(new HubProducerOptions { HubUrl = new Uri($"http://{nginx.EndPoint}"), Token = token, MaxRetries = 0 });
        using var run = await producer.StartAsync("export", total: 10);
        // .NET's HttpClient as the SSE reader: nginx sends the stream chunked, as any HTTP/1.1 proxy may.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) })
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"http://{nginx.EndPoint}/api/processes/{run.ProcessId}/events"))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            using var stream = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.That(await NextEventIdAsync(stream), Is.EqualTo(1), "the stream starts with the process's state");
            for (int i = 1; i <= 3; i++)
            {
                Assert.That(await run.ReportAsync(i, 10), Is.False);
                // Each event arrives while the stream stays open: nginx does not hold it back in a buffer.
                Assert.That(await NextEventIdAsync(stream), Is.EqualTo(i + 1));
            }
        }
        var seen = await tab.ReceiveUntilAsync(m => m.ProcessId == run.ProcessId && m.Seq == 4);
        string epoch = (await RawHttpClient.GetAsync(one, "/api/processes", token)).Json.GetProperty("epoch").GetString()!;

        // Kill the hub that holds the tab; nginx chose it (least_conn), the hubs' health says which.
        bool onOne = (await RawHttpClient.GetAsync(one, "/healthz", null)).Json.GetProperty("websockets").GetInt32() == 1;
        await (onOne ? hub1 : hub2).KillAsync();
        await tab.ExpectClosedAsync();

        var (again, _) = await RawWebSocketClient.OpenWithListAsync(nginx.EndPoint, token);
        await using var _again = again;
        await again.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = seen.Seq, epoch, request_id = "resume" });
        var resumed = await again.ReceiveUntilAsync("subscribed");
        Assert.That(resumed.Get("recovered").GetBoolean(), Is.True, resumed.Text);
        Assert.That(await run.ReportAsync(4, 10), Is.False, "the worker's next report is served by the hub still up");
        var next = await again.ReceiveUntilAsync(m => m.ProcessId == run.ProcessId && m.IsProcessEvent);
        Assert.That(next.Seq, Is.EqualTo(5), next.Text);

        string log = nginx.AccessLog;
        Assert.That(log, Does.Contain("\"GET /ws\""), log);
        Assert.That(log.Contains(token, StringComparison.Ordinal), Is.False, "the documented log format leaves the query string, and the token in it, out");
    }

    [Test]
    public async Task The_documented_error_log_keeps_a_token_in_a_URL_out_when_a_hub_cannot_be_reached()
    {
        await using var redis = await RedisServer.StartAsync();
        var (hub, live) = await HubCluster.StartBinaryAsync(redis);
        await using var _hub = hub;
        // An upstream that takes each connection and resets it: nginx logs that (at "error") with the request line,
        // and passes the request to the next hub. Counting its connections shows nginx did try it.
        await using var broken = ResettingUpstream.Start(readRequestFirst: false);
        await using var nginx = await NginxFront.StartAsync([broken.EndPoint, live]);
        string token = HubCluster.Token("alice");

        // Two requests in turn with the token in their URL, as a browser's EventSource sends it: nginx takes the two
        // hubs in turn, so one of them goes to the broken one first.
        for (int i = 0; i < 2; i++)
        {
            var health = await RawHttpClient.GetAsync(nginx.EndPoint, $"/healthz?token={token}", null);
            Assert.That(health.Status, Is.EqualTo(200), health.ToString());
        }

        Assert.That(broken.Taken, Is.GreaterThan(0), "nginx tried the broken upstream");
        Assert.That(nginx.ErrorLogs.Contains(token, StringComparison.Ordinal), Is.False, "the documented error log level leaves the request lines out");
        Assert.That(nginx.AccessLog.Contains(token, StringComparison.Ordinal), Is.False);
    }

    [Test]
    public async Task With_Redis_away_every_request_through_the_documented_configuration_is_the_hubs_503()
    {
        await using var deployment = await HubsBehindNginx.StartAsync();
        var nginx = deployment.Nginx;
        string token = HubCluster.Token("alice");

        await deployment.Redis.StopAsync();

        // A hub that cannot ask Redis answers 503 for a process it has not seen. nginx told to pass a 503 to the next
        // hub (proxy_next_upstream http_503) counted each as that hub failing, and after the first request had none
        // left: every later one was its own 502, "no live upstreams", for 10 s whether Redis was back or not.
        for (int i = 0; i < 4; i++)
        {
            var reply = await RawHttpClient.GetAsync(nginx.EndPoint, "/api/processes/0123456789abcdef", token);
            Assert.That((reply.Status, reply.Header("Retry-After")), Is.EqualTo((503, "1")), $"request {i + 1}: {reply}");
            Assert.That(reply.ErrorCode, Is.EqualTo("unavailable"), $"request {i + 1}: the hub's answer, not nginx's");
        }
    }

    [Test]
    public async Task A_POST_whose_hub_dies_with_it_gets_the_hubs_503_from_the_documented_configuration_not_an_HTML_502()
    {
        // From an audit: a worker's report on a hub killed before it answered got nginx's HTML 502 (nginx sends a POST
        // on to no other hub once it went out). An upstream that reads each request and closes without an answer
        // stands for that hub.
        await using var dying = ResettingUpstream.Start(readRequestFirst: true);
        await using var nginx = await NginxFront.StartAsync([dying.EndPoint]);

        var reply = await RawHttpClient.PostAsync(nginx.EndPoint, "/api/processes/0123456789abcdef/progress", HubCluster.Token("alice"), """{"current":1,"total":10}""");

        Assert.That(dying.Taken, Is.GreaterThan(0), "the request reached the upstream");
        Assert.That((reply.Status, reply.Header("Retry-After"), reply.Header("Content-Type")), Is.EqualTo((503, "1", "application/json")), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("unavailable"), reply.ToString());
    }

    /// <summary>The id of the next event on an SSE stream (keep-alives and the retry line skipped).</summary>
    private static async Task<long> NextEventIdAsync(StreamReader stream)
    {
        while (true)
        {
            string? line = await stream.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is null)
            {
                throw new EndOfStreamException("the stream ended");
            }
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                return long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }
}
