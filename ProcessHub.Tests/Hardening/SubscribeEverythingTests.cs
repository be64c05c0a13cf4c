using NUnit.Framework;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, item 5: <c>subscribe</c> with <c>"*"</c> replays nothing, yet answered <c>recovered: true</c> to a
/// <c>since</c> or a foreign <c>epoch</c>; the contract's <c>recovered</c> means "every event after since was replayed"
/// (docs/protocol.md sections 3.5 and 4.4), so those get <c>false</c>.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SubscribeEverythingTests
{
    [TestCase(null, null, true, TestName = "subscribe * alone is recovered")]
    [TestCase(3L, null, false, TestName = "subscribe * with since is not recovered")]
    [TestCase(null, "ffffffffffffffff", false, TestName = "subscribe * with a foreign epoch is not recovered")]
    [TestCase(3L, "ffffffffffffffff", false, TestName = "subscribe * with since and a foreign epoch is not recovered")]
    [TestCase(null, "current", true, TestName = "subscribe * with the current epoch is recovered")]
    public async Task Recovered_says_whether_anything_asked_for_was_lost(long? since, string? epoch, bool recovered)
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");
        string? sentEpoch = epoch == "current" ? host.Epoch : epoch;

        await tab.SendJsonAsync(new { type = "subscribe", process_id = "*", since, epoch = sentEpoch, request_id = "s" });
        var reply = await tab.ReceiveAsync();

        Assert.That((reply.Type, reply.ProcessId, reply.Get("replayed").GetInt32()), Is.EqualTo(("subscribed", "*", 0)), reply.ToString());
        Assert.That(reply.Get("recovered").GetBoolean(), Is.EqualTo(recovered), reply.ToString());
        Assert.That(reply.String("epoch"), Is.EqualTo(host.Epoch));
    }
}
