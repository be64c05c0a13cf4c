using NUnit.Framework;
using ProcessHub.Server;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// docs/protocol.md sections 4 and 5 on an authenticated hub connection: what ends a connection instead of earning an
/// error reply (binary, oversized or invalid UTF-8 messages) and the server's shutdown close.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class ConnectionLimitTests
{
    [Test]
    public async Task A_connection_refused_for_the_global_limit_is_not_authenticated_or_sent_a_list()
    {
        // docs/protocol.md 5.9: refused is refused. Its token used to be checked all the same (a bad one counted as an
        // auth failure; a good one admitted the session against its user's limit and built a whole list for it).
        await using var host = HubTestHost.Start(server: new ServerOptions { MaxConnections = 1 });
        await using var tab = await host.OpenTabAsync("alice");
        await using var refused = await host.ConnectAsync(queryToken: "not-a-jwt");

        Assert.That(await refused.ReceiveCloseAsync(), Is.EqualTo((1013, "too many connections")));
        await using var again = await host.ConnectAsync(queryToken: host.Token("alice"));
        Assert.That(await again.ReceiveCloseAsync(), Is.EqualTo((1013, "too many connections")));
        Assert.That(host.App.Counters.AuthFailures, Is.Empty, "the refused connection's token was checked");
    }

    [Test]
    public async Task A_binary_message_closes_with_1003()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendBinaryAsync([1, 2, 3]);

        Assert.That(await tab.ReceiveCloseAsync(), Is.EqualTo((1003, "binary messages are not supported")));
    }

    [Test]
    public async Task A_message_over_the_limit_closes_with_1009()
    {
        await using var host = HubTestHost.Start(server: new ServerOptions { MaxMessageBytes = 1024 });
        await using var tab = await host.OpenTabAsync("alice");
        // Padding in a field the hub ignores (a request_id that long would be refused: it is said back).
        await tab.SendJsonAsync(new { type = "ping", padding = new string('a', 900) });
        Assert.That((await tab.ReceiveAsync()).Type, Is.EqualTo("pong"), "just under the limit is fine");

        await tab.SendJsonAsync(new { type = "ping", padding = new string('a', 1100) });

        Assert.That(await tab.ReceiveCloseAsync(), Is.EqualTo((1009, "message too big")));
    }

    [Test]
    public async Task Text_that_is_not_utf8_closes_with_1007()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendTextAsync([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}']);

        Assert.That(await tab.ReceiveCloseAsync(), Is.EqualTo((1007, "invalid utf-8")));
    }

    [Test]
    public async Task Shutdown_closes_every_connection_with_1001()
    {
        var host = HubTestHost.Start();
        await using var alice = await host.OpenTabAsync("alice");
        await using var admin = await host.OpenTabAsync("root", admin: true);

        var stopping = host.App.StopAsync();

        Assert.That(await alice.ReceiveCloseAsync(), Is.EqualTo((1001, "server shutting down")));
        Assert.That(await admin.ReceiveCloseAsync(), Is.EqualTo((1001, "server shutting down")));
        await stopping.WaitAsync(TestTimeouts.Receive);
        await host.DisposeAsync();
        Assert.That(host.App.SessionCount, Is.Zero);
    }
}
