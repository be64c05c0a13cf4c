using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, item 9: ping control frames were answered without limit. They now take from the connection's message
/// budget (docs/protocol.md section 5.6): past it a ping goes unanswered, and a client that keeps going is closed
/// with 1008 like one that floods messages. The hub's clock is fake and never moves here, so the budget does not refill
/// while the frames are read, whatever the machine's speed.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class PingBudgetTests
{
    private const int Rate = 10;

    [Test]
    public async Task A_ping_flood_gets_pongs_up_to_the_budget_then_1008()
    {
        await using var host = HubTestHost.Start(hub: new HubOptions { MessageRateLimit = Rate }, fakeTime: true);
        await using var client = await OpenAuthenticatedAsync(host);

        // 30 pings at once: 10 answered, 10 refused (unanswered), the 21st closes the connection.
        var flood = Enumerable.Range(0, 30).SelectMany(i => ClientFrame.Ping([(byte)i])).ToArray();
        await client.SendRawAsync(flood);

        var pongs = new List<byte>();
        ServerFrame frame;
        while ((frame = await client.ReceiveFrameAsync()).Opcode == Opcodes.Pong)
        {
            pongs.Add(frame.Payload[0]);
        }
        Assert.That(pongs, Is.EqualTo(Enumerable.Range(0, Rate).Select(i => (byte)i)), "the first pings are answered, in order");
        Assert.That((frame.Opcode, frame.CloseCode, frame.CloseReason), Is.EqualTo((Opcodes.Close, (ushort?)1008, "rate limit exceeded")));
    }

    [Test]
    public async Task Pings_and_messages_share_one_budget()
    {
        await using var host = HubTestHost.Start(hub: new HubOptions { MessageRateLimit = Rate }, fakeTime: true);
        await using var client = await OpenAuthenticatedAsync(host);

        var pings = Enumerable.Range(0, Rate).SelectMany(i => ClientFrame.Ping([(byte)i])).ToArray();
        await client.SendRawAsync(pings);
        await client.SendRawAsync(ClientFrame.Text("""{"type":"ping","request_id":"after"}"""));

        for (int i = 0; i < Rate; i++)
        {
            Assert.That((await client.ReceiveFrameAsync()).Opcode, Is.EqualTo(Opcodes.Pong));
        }
        var refused = await client.ReceiveFrameAsync();
        Assert.That(refused.Text, Does.Contain("\"code\":\"rate_limited\"").And.Contain("\"request_id\":\"after\""), "the budget was spent by the pings");

        host.Time!.Advance(TimeSpan.FromSeconds(1));
        await client.SendRawAsync(ClientFrame.Ping("again"u8));
        var pong = await client.ReceiveFrameAsync();
        Assert.That((pong.Opcode, pong.Text), Is.EqualTo((Opcodes.Pong, "again")), "the budget refills with time");
    }

    private static async Task<RawWebSocketClient> OpenAuthenticatedAsync(HubTestHost host)
    {
        var client = await RawWebSocketClient.OpenAsync(host.App.LocalEndPoint, "/ws?token=" + host.Token("alice"));
        var list = await client.ReceiveFrameAsync();
        Assert.That(list.Text, Does.StartWith("{\"type\":\"process_list\""));
        return client;
    }
}
