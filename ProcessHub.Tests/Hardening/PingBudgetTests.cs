using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, item 9: ping control frames were answered without limit. They now take from the connection's message
/// budget (docs/protocol.md section 5.6): past it a ping goes unanswered, and a client that keeps going is closed
/// with 1008 like one that floods messages. Pongs and the frames of an unfinished message take from it too. The hub's clock is fake and never moves here, so the budget does not refill
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

    [Test]
    public async Task A_pong_flood_takes_from_the_budget_and_is_closed_with_1008()
    {
        // From a security audit: pongs were free, and a flood of them held a core for as long as it lasted. 10 in the
        // bucket, 10 refusals of allowance: the 21st pong closes the connection.
        await using var host = HubTestHost.Start(hub: new HubOptions { MessageRateLimit = Rate }, fakeTime: true);
        await using var client = await OpenAuthenticatedAsync(host);

        await client.SendRawAsync(Enumerable.Range(0, 21).SelectMany(i => ClientFrame.Pong([(byte)i])).ToArray());

        var close = await client.ReceiveFrameAsync();
        Assert.That((close.Opcode, close.CloseCode, close.CloseReason), Is.EqualTo((Opcodes.Close, (ushort?)1008, "rate limit exceeded")));
    }

    [Test]
    public async Task Pongs_within_the_budget_leave_the_connection_as_it_was()
    {
        // The control: pongs that spend the bucket (not the allowance of refusals) leave the connection open.
        await using var host = HubTestHost.Start(hub: new HubOptions { MessageRateLimit = Rate }, fakeTime: true);
        await using var client = await OpenAuthenticatedAsync(host);

        var pongs = Enumerable.Range(0, Rate).SelectMany(i => ClientFrame.Pong([(byte)i]));
        byte[] burst = [.. pongs, .. ClientFrame.Text("""{"type":"ping","request_id":"spent"}""")];
        await client.SendRawAsync(burst);
        var refused = await client.ReceiveFrameAsync();
        Assert.That(refused.Text, Does.Contain("\"code\":\"rate_limited\"").And.Contain("\"request_id\":\"spent\""), "the pongs spent the bucket");

        host.Time!.Advance(TimeSpan.FromSeconds(1));
        await client.SendRawAsync(ClientFrame.Text("""{"type":"ping","request_id":"still"}"""));
        var reply = await client.ReceiveFrameAsync();
        Assert.That(reply.Text, Does.Contain("\"type\":\"pong\"").And.Contain("\"request_id\":\"still\""), reply.ToString());
    }

    [Test]
    public async Task Empty_continuation_frames_that_never_end_a_message_are_closed_with_1008()
    {
        // From a security audit: an unfinished message followed by endless empty continuations never reached the
        // message size limit (they add no bytes) nor the rate limit (no message is ever complete).
        await using var host = HubTestHost.Start(hub: new HubOptions { MessageRateLimit = Rate }, fakeTime: true);
        await using var client = await OpenAuthenticatedAsync(host);

        var frames = ClientFrame.Text("{\"type\":", fin: false).Concat(Enumerable.Range(0, 25).SelectMany(_ => ClientFrame.Continuation([], fin: false))).ToArray();
        await client.SendRawAsync(frames);

        var close = await client.ReceiveFrameAsync();
        Assert.That((close.Opcode, close.CloseCode, close.CloseReason), Is.EqualTo((Opcodes.Close, (ushort?)1008, "rate limit exceeded")));
    }

    [Test]
    public async Task A_message_in_a_few_fragments_is_handled_as_one()
    {
        // The control for the above: fragments cost a little of the budget, and the message still gets its reply.
        await using var host = HubTestHost.Start(hub: new HubOptions { MessageRateLimit = Rate }, fakeTime: true);
        await using var client = await OpenAuthenticatedAsync(host);

        await client.SendRawAsync(ClientFrame.Fragmented("""{"type":"ping","request_id":"in-parts"}"""u8, [5, 12, 20]));

        var reply = await client.ReceiveFrameAsync();
        Assert.That(reply.Text, Does.Contain("\"type\":\"pong\"").And.Contain("\"request_id\":\"in-parts\""), reply.ToString());
    }

    [Test]
    public async Task A_big_message_streamed_in_large_fragments_pays_once()
    {
        // From a review: a client that streams a big message in large frames (allowed up to --max-message-bytes) must
        // not be closed for it. 40 fragments of 512 bytes against a budget of 10: only fragments under 512 bytes pay.
        await using var host = HubTestHost.Start(hub: new HubOptions { MessageRateLimit = Rate }, fakeTime: true);
        await using var client = await OpenAuthenticatedAsync(host);
        string message = $$"""{"type":"ping","request_id":"streamed","pad":"{{new string('x', 40 * 512)}}"}""";
        var bytes = System.Text.Encoding.UTF8.GetBytes(message);

        await client.SendRawAsync(ClientFrame.Fragmented(bytes, ClientFrame.EveryNBytes(bytes.Length, 512)));

        var reply = await client.ReceiveFrameAsync();
        Assert.That(reply.Text, Does.Contain("\"type\":\"pong\"").And.Contain("\"request_id\":\"streamed\""), reply.ToString());
    }

    private static async Task<RawWebSocketClient> OpenAuthenticatedAsync(HubTestHost host)
    {
        var client = await RawWebSocketClient.OpenAsync(host.App.LocalEndPoint, "/ws?token=" + host.Token("alice"));
        var list = await client.ReceiveFrameAsync();
        Assert.That(list.Text, Does.StartWith("{\"type\":\"process_list\""));
        return client;
    }
}
