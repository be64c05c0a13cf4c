using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Http;

/// <summary>
/// docs/protocol.md section 5: a request head (the handshake included) must arrive within the head timeout, or the
/// connection is dropped; a slowloris client cannot hold a connection open. The server here uses a 1 s timeout
/// so the test is short; the test itself waits up to <see cref="TestTimeouts.Receive"/> for the drop.
/// </summary>
[TestFixture]
internal sealed class RequestHeadTimeoutTests
{
    private TestServer _server = null!;

    [OneTimeSetUp]
    public void StartServer() => _server = TestServer.Start(TestServer.DefaultOptions with { RequestHeadTimeout = TimeSpan.FromSeconds(1) });

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task Head_that_never_ends_is_dropped()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        await client.SendAsync($"GET /healthz HTTP/1.1\r\nHost: {client.HostHeader}\r\nX-Slow: ");

        await ExpectDroppedAsync(client);
    }

    [Test]
    public async Task Connection_that_sends_nothing_is_dropped()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);

        await ExpectDroppedAsync(client);
    }

    [Test]
    public async Task Upgrade_request_that_never_ends_is_dropped()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        var request = client.UpgradeRequest();
        await client.SendAsync(request[..^2]);

        await ExpectDroppedAsync(client);
    }

    // The engine drops the connection without a response: there is no request to answer.
    private static Task ExpectDroppedAsync(RawWebSocketClient client) => client.ExpectClosedAsync();
}
