using System.Text;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Api;

/// <summary>The HTTP-level refusals of the API: 404, 405 with Allow, 413 past the body limit, 429 past the request budget.</summary>
[TestFixture]
[Category("socket")]
internal sealed class HttpLimitsTests
{
    private const int BodyLimit = 512;
    private const int RequestsPerSecond = 3;
    private HubTestHost _server = null!;

    [OneTimeSetUp]
    public void Start() => _server = HubTestHost.Start(
        new HubOptions { ApiRequestsPerSecond = RequestsPerSecond },
        new ServerOptions { MaxRequestBodyBytes = BodyLimit });

    [OneTimeTearDown]
    public async Task Stop() => await _server.DisposeAsync();

    [TestCase("GET", "/nope")]
    [TestCase("GET", "/api")]
    [TestCase("POST", "/api/processes/abc/restart")]
    [TestCase("GET", "/api/processes/abc/events/more")]
    public async Task An_unknown_path_is_404_with_a_JSON_error(string method, string path)
    {
        var reply = await RawHttpClient.RequestAsync(_server.EndPoint, method, path, _server.Token("nobody"), method == "POST" ? "{}" : null);

        Assert.That(reply.Status, Is.EqualTo(404), reply.ToString());
        Assert.That(reply.Header("Content-Type"), Does.StartWith("application/json"));
        Assert.That(reply.ErrorCode, Is.EqualTo("not_found"));
    }

    [TestCase("DELETE", "/api/processes", "GET, HEAD, POST")]
    [TestCase("PUT", "/api/processes/abc", "GET, HEAD")]
    [TestCase("GET", "/api/processes/abc/progress", "POST")]
    [TestCase("GET", "/api/processes/abc/cancel", "POST")]
    [TestCase("POST", "/api/processes/abc/events", "GET, HEAD")]
    [TestCase("GET", "/api/benchmark", "POST")]
    [TestCase("POST", "/healthz", "GET, HEAD")]
    [TestCase("DELETE", "/metrics", "GET, HEAD")]
    public async Task A_wrong_method_is_405_with_Allow(string method, string path, string allow)
    {
        var reply = await RawHttpClient.RequestAsync(_server.EndPoint, method, path, _server.Token("nobody"), body: null);

        Assert.That(reply.Status, Is.EqualTo(405), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("method_not_allowed"));
        var allowed = reply.Header("Allow")?.Split(',', StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal);
        Assert.That(allowed, Is.EqualTo(allow.Split(", ")), reply.ToString());
    }

    [TestCase("BREW", "/api/processes")]
    [TestCase("BREW", "/nowhere")]
    [TestCase("BREW", "/ws")]
    [TestCase("PROPFIND", "/healthz")]
    public async Task A_method_no_standard_names_is_501(string method, string path)
    {
        var reply = await RawHttpClient.RequestAsync(_server.EndPoint, method, path, _server.Token("nobody"), body: null);

        Assert.That((reply.Status, reply.ErrorCode), Is.EqualTo((501, "not_implemented")), reply.ToString());
        Assert.That(reply.Header("Allow"), Is.Null, reply.ToString());
    }

    [TestCase("//api/processes")]
    [TestCase("//healthz")]
    [TestCase("//")]
    [TestCase("///")]
    [TestCase("/api//processes")]
    public async Task A_path_with_an_empty_segment_is_404(string path)
    {
        var reply = await RawHttpClient.RequestAsync(_server.EndPoint, "GET", path, _server.Token("nobody"), body: null);

        Assert.That((reply.Status, reply.ErrorCode), Is.EqualTo((404, "not_found")), reply.ToString());
    }

    [Test]
    public async Task A_body_over_the_limit_is_413_and_the_connection_closes()
    {
        string token = _server.Token("big-body");
        // The head alone announces the size; the server must refuse it without waiting for the body.
        var head = RawHttpClient.BuildRequest("POST", "/api/processes", token, contentLength: BodyLimit + 1).Replace("Connection: close\r\n", "", StringComparison.Ordinal);

        var reply = await RawHttpClient.SendRawAsync(_server.EndPoint, Encoding.ASCII.GetBytes(head));

        Assert.That(reply.Status, Is.EqualTo(413), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("too_large"));
        Assert.That(reply.ErrorMessage, Is.EqualTo($"request body too large: at most {BodyLimit} bytes (--max-body-bytes)"), "the limit and what sets it");
        Assert.That(reply.Header("Connection"), Is.EqualTo("close"));
        var list = await _server.GetAsync("/api/processes", token);
        Assert.That(list.Json.GetProperty("processes").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task A_client_that_sends_its_whole_large_body_before_it_reads_gets_the_413()
    {
        // As Python's http.client does: the head, then all of the body, then the answer. The hub answers 413 from the
        // head and reads on until the client closes; when it stopped reading after 1 MiB, the rest of a 4 MB body (16 MiB here, past what loopback buffers hold) met
        // a reset, and the worker saw "broken pipe" instead of the answer.
        // The connections' clock stands still: only the client's close (or 64 MiB) ends the hub's reading, never a
        // pause of this machine's.
        await using var server = HubTestHost.Start(server: new ServerOptions { MaxRequestBodyBytes = BodyLimit },
            connectionTime: new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow));
        string token = server.Token("whole-body");
        const int BodyBytes = 16 * 1024 * 1024;
        string head = RawHttpClient.BuildRequest("POST", "/api/processes", token, contentLength: BodyBytes).Replace("Connection: close\r\n", "", StringComparison.Ordinal);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint);

        await socket.SendAsync(Encoding.ASCII.GetBytes(head), System.Net.Sockets.SocketFlags.None);
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)' ');
        for (int sent = 0; sent < BodyBytes; sent += chunk.Length)
        {
            await socket.SendAsync(chunk, System.Net.Sockets.SocketFlags.None);
        }
        socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None)) > 0)
        {
            received.Write(buffer, 0, read);
        }
        string answer = Encoding.ASCII.GetString(received.ToArray());

        Assert.That(answer, Does.StartWith("HTTP/1.1 413 "));
        Assert.That(answer, Does.Contain("request body too large"));
    }

    [Test]
    public async Task A_body_at_the_limit_is_read_and_served()
    {
        string token = _server.Token("limit-body");
        const string prefix = "{\"process_type\":\"export\",\"params\":{\"pad\":\"";
        string body = prefix + new string('x', BodyLimit - prefix.Length - 3) + "\"}}";
        Assert.That(Encoding.UTF8.GetByteCount(body), Is.EqualTo(BodyLimit));

        var reply = await _server.PostAsync("/api/processes", token, body);

        Assert.That(reply.Status, Is.EqualTo(201), reply.ToString());
    }

    [Test]
    public async Task Past_the_request_budget_a_user_gets_429_with_Retry_After_and_other_users_do_not()
    {
        // The budget refills on the hub's clock: a fake one, standing still, so the burst is exact on any machine.
        await using var host = HubTestHost.Start(new HubOptions { ApiRequestsPerSecond = RequestsPerSecond }, fakeTime: true);
        string token = host.Token("hasty");
        string other = host.Token("patient");

        var replies = await Task.WhenAll(Enumerable.Range(0, 3 * RequestsPerSecond).Select(_ => host.GetAsync("/api/processes", token)));
        var otherUser = await host.GetAsync("/api/processes", other);

        var limited = replies.Where(r => r.Status == 429).ToList();
        Assert.That(replies.Select(r => r.Status), Is.All.AnyOf(200, 429));
        Assert.That(replies.Count(r => r.Status == 200), Is.EqualTo(RequestsPerSecond), "a burst of the budget is allowed, and no more");
        Assert.That(limited[0].ErrorCode, Is.EqualTo("rate_limited"));
        Assert.That(limited[0].ErrorMessage, Is.EqualTo($"too many requests: at most {RequestsPerSecond} a second for each user (--api-rate-limit); slow down"));
        Assert.That(limited[0].Header("Retry-After"), Is.EqualTo("1"));
        Assert.That(otherUser.Status, Is.EqualTo(200), "the budget is per user");

        host.Time!.Advance(TimeSpan.FromSeconds(1));
        var later = await host.GetAsync("/api/processes", token);
        Assert.That(later.Status, Is.EqualTo(200), "a second later the budget has refilled: " + later);
    }

    [Test]
    public async Task The_API_answers_several_requests_on_one_kept_alive_connection()
    {
        string token = _server.Token("keeper");
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);

        for (int i = 0; i < 2; i++)
        {
            var head = RawHttpClient.BuildRequest("GET", "/api/processes", token, null).Replace("Connection: close\r\n", "", StringComparison.Ordinal);
            await client.SendAsync(head);
            var reply = await client.ReadResponseAsync();
            Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
            Assert.That(reply.Header("Connection"), Is.EqualTo("keep-alive"));
        }
    }
}
