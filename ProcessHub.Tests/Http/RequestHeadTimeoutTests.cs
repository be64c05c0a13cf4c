using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Http;

/// <summary>
/// docs/protocol.md section 5: a request head (the handshake included) must arrive within the head timeout, or the
/// connection is dropped; a slowloris client cannot hold a connection open. The timeout is the server's clock, a
/// fake one here: the connection must survive until the clock passes it, and be dropped once it has.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class RequestHeadTimeoutTests
{
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(10);
    private TestServer _server = null!;

    [SetUp]
    public void StartServer() => _server = TestServer.Start(TestServer.DefaultOptions with { RequestHeadTimeout = HeadTimeout }, time: new FakeTimeProvider(DateTimeOffset.UtcNow));

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task Head_that_never_ends_is_dropped()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        await client.SendRawAsync($"GET /healthz HTTP/1.1\r\nHost: {client.HostHeader}\r\nX-Slow: ");

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
        await client.SendRawAsync(request[..^2]);

        await ExpectDroppedAsync(client);
    }

    [Test]
    public async Task A_complete_head_is_answered_however_long_it_took()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_server.EndPoint);
        var request = $"GET /healthz HTTP/1.1\r\nHost: {client.HostHeader}\r\nConnection: close\r\n\r\n";
        await client.SendRawAsync(request[..10]);
        // Just short of the timeout, and the server is known to hold the first bytes: the rest is still in time.
        await AdvanceAsync(HeadTimeout - TimeSpan.FromSeconds(1));
        await client.SendRawAsync(request[10..]);

        Assert.That((await client.ReadHttpResponseAsync()).Status, Is.EqualTo(200));
    }

    // The engine drops the connection without a response: there is no request to answer.
    private Task ExpectDroppedAsync(RawWebSocketClient client) =>
        Eventually.CompletesAsync(_server.Time!, client.ExpectClosedAsync(), "the head timeout dropping the connection", step: TimeSpan.FromSeconds(1));

    private async Task AdvanceAsync(TimeSpan by)
    {
        // Let the server's connection loop start its head timer first: a timer started after the advance would
        // start from the later time.
        await Eventually.HoldsAsync(() => _server.Server.OpenConnections > 0, "the server accepting the connection");
        _server.Time!.Advance(by);
    }
}
