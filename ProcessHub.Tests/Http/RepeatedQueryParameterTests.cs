using NUnit.Framework;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Http;

/// <summary>
/// A query parameter the hub reads, given twice, is 400 (docs/protocol.md 1.2): the hub took the first copy, and a
/// proxy or gateway in front of it may check the last (<c>/ws?token=GOOD&amp;token=bad</c> signed in with the first).
/// Parameters the hub does not read may repeat.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class RepeatedQueryParameterTests
{
    private HubTestHost _host = null!;

    [OneTimeSetUp]
    public void StartHub()
    {
        _host = HubTestHost.Start();
        _host.App.EnableDevToken(_host.Token("dev", lifetime: TimeSpan.FromHours(24)));
    }

    [OneTimeTearDown]
    public async Task StopHub() => await _host.DisposeAsync();

    [Test]
    public async Task A_WebSocket_upgrade_with_token_twice_is_400()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(_host.EndPoint);
        await client.SendRawAsync(client.UpgradeRequest($"/ws?token={_host.Token("alice")}&token=bad"));

        var response = await client.ReadHttpResponseAsync();

        Assert.That((response.Status, response.Text), Is.EqualTo((400, """{"error":{"code":"bad_request","message":"the query gives token more than once"}}""")), response.ToString());
        await client.ExpectClosedAsync();
    }

    [Test]
    public async Task An_SSE_stream_with_token_twice_is_400()
    {
        string token = _host.Token("alice");
        string id = _host.App.Producer.Start("export", "alice", total: 2).ProcessId;

        var reply = await RawHttpClient.GetAsync(_host.EndPoint, $"/api/processes/{id}/events?token={token}&token={token}");

        Assert.That((reply.Status, reply.Json.GetProperty("error").Str("message")), Is.EqualTo((400, "the query gives token more than once")), reply.ToString());
    }

    [Test]
    public async Task A_list_with_owner_twice_is_400_and_a_parameter_the_hub_does_not_read_may_repeat()
    {
        string admin = _host.Token("root", admin: true);

        var twice = await RawHttpClient.GetAsync(_host.EndPoint, "/api/processes?owner=alice&owner=bob", admin);
        var other = await RawHttpClient.GetAsync(_host.EndPoint, "/api/processes?owner=alice&_=1&_=2", admin);

        Assert.That((twice.Status, twice.Json.GetProperty("error").Str("message")), Is.EqualTo((400, "the query gives owner more than once")), twice.ToString());
        Assert.That(other.Status, Is.EqualTo(200), other.ToString());
    }

    [TestCase("user=alice&user=root")]
    [TestCase("user=alice&role=producer&role=admin")]
    public async Task A_dev_token_request_with_user_or_role_twice_is_400(string query)
    {
        var reply = await RawHttpClient.GetAsync(_host.EndPoint, $"/api/dev-token?{query}");

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.Json.GetProperty("error").Str("message"), Does.Contain("more than once"));
    }
}
