using System.Text;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Http;

/// <summary>
/// The HTTP/1.1 side over raw sockets: routing answers (200, 404, 405), keep-alive, a head split into 1-byte
/// writes, and the limits of docs/protocol.md section 5 (431 past 16 KiB of head, 413 past the body limit).
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class HttpRequestTests
{
    private const int BodyLimit = 1024;
    private TestServer _server = null!;

    [OneTimeSetUp]
    public void StartServer() => _server = TestServer.Start(
        TestServer.DefaultOptions with { MaxRequestBodyBytes = BodyLimit },
        router => router.Map("POST", "/test/body", exchange => exchange.RespondJsonAsync(200, new { length = exchange.Body.Length })));

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task Healthz_is_200_with_a_JSON_body()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync(Get(client, "/healthz", "Connection: close"));

        var response = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusLine, Is.EqualTo("HTTP/1.1 200 OK"), response.ToString());
            Assert.That(response.Header("Content-Type"), Does.StartWith("application/json"));
            Assert.That(response.Text, Is.EqualTo("{\"status\":\"ok\"}"));
        }
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task Request_head_sent_one_byte_at_a_time_is_answered()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync(Get(client, "/healthz"), chop: 1);

        var response = await client.ReadResponseAsync();

        Assert.That((response.Status, response.Text), Is.EqualTo((200, "{\"status\":\"ok\"}")), response.ToString());
    }

    [Test]
    public async Task Keep_alive_serves_two_requests_on_one_connection()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);

        await client.SendAsync(Get(client, "/healthz"));
        var first = await client.ReadResponseAsync();
        await client.SendAsync(Get(client, "/healthz"));
        var second = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Status, Is.EqualTo(200), first.ToString());
            Assert.That(first.Header("Connection"), Is.EqualTo("keep-alive").IgnoreCase, first.ToString());
            Assert.That(second.Status, Is.EqualTo(200), second.ToString());
        }
    }

    [Test]
    public async Task Pipelined_requests_in_one_write_are_answered_in_order()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync(Get(client, "/healthz") + Get(client, "/nowhere") + Get(client, "/healthz", "Connection: close"));

        var statuses = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            statuses.Add((await client.ReadResponseAsync()).Status);
        }

        Assert.That(statuses, Is.EqualTo(new[] { 200, 404, 200 }));
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task Unknown_path_is_404_with_a_JSON_error()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync(Get(client, "/no/such/thing"));

        var response = await client.ReadResponseAsync();

        Assert.That((response.Status, response.Text), Is.EqualTo((404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such endpoint\"}}")), response.ToString());
    }

    [Test]
    public async Task Wrong_method_on_healthz_is_405_with_Allow()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync($"DELETE /healthz HTTP/1.1\r\nHost: {client.HostHeader}\r\n\r\n");

        var response = await client.ReadResponseAsync();

        Assert.That((response.Status, response.Header("Allow")), Is.EqualTo((405, "GET")), response.ToString());
    }

    [TestCase("GARBAGE\r\n\r\n", TestName = "Malformed request line: one word")]
    [TestCase("GET /healthz\r\nHost: x\r\n\r\n", TestName = "Malformed request line: no version")]
    [TestCase("GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", TestName = "Malformed request line: two spaces")]
    [TestCase("GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", TestName = "Malformed request line: target without a slash")]
    [TestCase("GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n", TestName = "Malformed request line: trailing garbage")]
    [TestCase("G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", TestName = "Malformed request line: method is not a token")]
    [TestCase("GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", TestName = "Malformed header: space before the colon")]
    [TestCase("GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", TestName = "Malformed header: no colon")]
    [TestCase("GET /healthz HTTP/1.1\r\n\r\n", TestName = "HTTP/1.1 without Host")]
    [TestCase("POST /test/body HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", TestName = "Content-Length is not a number")]
    public async Task Malformed_request_is_400(string request)
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync(request);

        var response = await client.ReadResponseAsync();

        Assert.That(response.Status, Is.EqualTo(400), response.ToString());
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task Unsupported_HTTP_version_is_505()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n");

        var response = await client.ReadResponseAsync();

        Assert.That(response.Status, Is.EqualTo(505), response.ToString());
    }

    [Test]
    public async Task Head_of_17_KiB_is_431()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        var padding = new string('a', 17 * 1024);
        await client.SendAsync(Get(client, "/healthz", $"X-Padding: {padding}"));

        var response = await client.ReadResponseAsync();

        Assert.That(response.Status, Is.EqualTo(431), response.ToString());
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task Head_just_under_16_KiB_is_served()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        var head = Get(client, "/healthz", "X-Padding: ");
        var padding = new string('a', (16 * 1024) - head.Length);
        await client.SendAsync(Get(client, "/healthz", $"X-Padding: {padding}"));

        var response = await client.ReadResponseAsync();

        Assert.That(response.Status, Is.EqualTo(200), response.ToString());
    }

    [Test]
    public async Task Body_within_the_limit_reaches_the_route()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        var body = new string('b', BodyLimit);
        await client.SendAsync($"POST /test/body HTTP/1.1\r\nHost: {client.HostHeader}\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n{body}", chop: 100);

        var response = await client.ReadResponseAsync();

        Assert.That((response.Status, response.Text), Is.EqualTo((200, $"{{\"length\":{BodyLimit}}}")), response.ToString());
    }

    [Test]
    public async Task Content_Length_over_the_body_limit_is_413_before_the_body_is_sent()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync($"POST /test/body HTTP/1.1\r\nHost: {client.HostHeader}\r\nContent-Length: {BodyLimit + 1}\r\n\r\n");

        var response = await client.ReadResponseAsync();

        Assert.That(response.Status, Is.EqualTo(413), response.ToString());
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task Body_over_the_limit_sent_with_its_head_is_413()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        var body = new string('b', BodyLimit * 8);
        await client.SendAsync($"POST /test/body HTTP/1.1\r\nHost: {client.HostHeader}\r\nContent-Length: {body.Length}\r\n\r\n{body}");

        var response = await client.ReadResponseAsync();

        Assert.That(response.Status, Is.EqualTo(413), response.ToString());
    }

    private static string Get(RawHttpClient client, string path, params string[] extraHeaderLines)
    {
        var request = new StringBuilder();
        request.Append("GET ").Append(path).Append(" HTTP/1.1\r\nHost: ").Append(client.HostHeader).Append("\r\n");
        foreach (var line in extraHeaderLines)
        {
            request.Append(line).Append("\r\n");
        }
        return request.Append("\r\n").ToString();
    }
}
