using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Http;

/// <summary>
/// <see cref="Server.ServerOptions.AllowedHosts"/> over raw sockets: a page that rebinds its own name to 127.0.0.1
/// (DNS rebinding) sends its own name as Host, and gets 403 for every request, the WebSocket upgrade included;
/// the allowed names pass with any port and in any case.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class AllowedHostsTests
{
    private TestServer _server = null!;

    [OneTimeSetUp]
    public void StartServer() => _server = TestServer.Start(TestServer.DefaultOptions with { AllowedHosts = ["localhost", "127.0.0.1", "[::1]", "hub.example"] });

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [TestCase("localhost")]
    [TestCase("localhost:8501")]
    [TestCase("LocalHost:1")]
    [TestCase("localhost.:8501")]
    [TestCase("127.0.0.1:8501")]
    [TestCase("[::1]:8501")]
    [TestCase("[::1]")]
    [TestCase("hub.example:443")]
    [TestCase("[0:0:0:0:0:0:0:1]:8501")]
    [TestCase("[0::1]")]
    public async Task An_allowed_host_is_served(string host)
    {
        var response = await GetAsync($"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");

        Assert.That(response.Status, Is.EqualTo(200), response.ToString());
    }

    [TestCase("evil.example")]
    [TestCase("evil.example:8501")]
    [TestCase("127.0.0.1.evil.example")]
    [TestCase("localhost.evil.example:8501")]
    [TestCase("sub.hub.example")]
    [TestCase("127.0.0.2")]
    [TestCase("[::2]:8501")]
    [TestCase("[0:0:0:0:0:0:0:2]")]
    [TestCase("[::ffff:127.0.0.1]")]
    [TestCase("")]
    public async Task Another_host_is_403_and_the_connection_closes(string host)
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        await client.SendRawAsync($"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");

        var response = await client.ReadHttpResponseAsync();

        Assert.That(response.Status, Is.EqualTo(403), response.ToString());
        Assert.That(response.Header("Content-Type"), Does.StartWith("application/json"));
        Assert.That(response.Text, Does.Contain("\"code\":\"forbidden\"").And.Contain("host not allowed"));
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task A_HEAD_from_another_host_gets_its_403_as_a_head_alone()
    {
        await using var client = await RawHttpClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync("HEAD /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n");

        var head = await client.ReadHeadAsync();
        var rest = await client.ReadToEndAsync();

        Assert.That(head.Status, Is.EqualTo(403), head.ToString());
        Assert.That(head.Header("Content-Length"), Is.Not.Null.And.Not.EqualTo("0"), "the length the body would have");
        Assert.That(rest, Is.Empty, "no body after the head, and the connection closed");
    }

    [Test]
    public async Task An_HTTP_1_0_request_without_Host_is_403()
    {
        var response = await GetAsync("GET /healthz HTTP/1.0\r\n\r\n");

        Assert.That(response.Status, Is.EqualTo(403), response.ToString());
    }

    [Test]
    public async Task A_WebSocket_upgrade_from_another_host_is_403_not_101()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        var upgrade = client.UpgradeRequest().Replace($"Host: {client.HostHeader}", "Host: evil.example:8501", StringComparison.Ordinal);
        await client.SendRawAsync(upgrade);

        var response = await client.ReadHttpResponseAsync();

        Assert.That(response.Status, Is.EqualTo(403), response.ToString());
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task A_WebSocket_upgrade_to_an_allowed_host_opens()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        var upgrade = client.UpgradeRequest().Replace($"Host: {client.HostHeader}", "Host: localhost:8501", StringComparison.Ordinal);
        await client.SendRawAsync(upgrade);

        var response = await client.ReadHttpResponseAsync();

        Assert.That(response.Status, Is.EqualTo(101), response.ToString());
    }

    [Test]
    public async Task With_no_list_any_host_is_served()
    {
        await using var open = TestServer.Start();
        await using var client = await RawWebSocketClient.ConnectAsync(open.EndPoint);
        await client.SendRawAsync("GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");

        var response = await client.ReadHttpResponseAsync();

        Assert.That(response.Status, Is.EqualTo(200), response.ToString());
    }

    private async Task<HttpReply> GetAsync(string request)
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        await client.SendRawAsync(request);
        return await client.ReadHttpResponseAsync();
    }
}
