using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// docs/protocol.md sections 5.7 and 11: <c>--max-processes-per-user</c> holds for the deployment, counted in Redis,
/// whichever hub a process was started, ended or cancelled through.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class ScaleOutLimitTests
{
    [Test]
    public async Task The_running_processes_of_an_owner_are_counted_across_hubs_and_ends_on_any_hub_free_a_place()
    {
        await using var redis = await RedisServer.StartAsync();
        var (hub1, one) = await HubCluster.StartBinaryAsync(redis, "--max-processes-per-user", "2");
        await using var _1 = hub1;
        var (hub2, two) = await HubCluster.StartBinaryAsync(redis, "--max-processes-per-user", "2");
        await using var _2 = hub2;
        string alice = HubCluster.Token("alice");
        string bob = HubCluster.Token("bob");

        string first = await HubCluster.StartProcessAsync(one, alice);
        string second = await HubCluster.StartProcessAsync(two, alice);
        var third = await RawHttpClient.PostAsync(one, "/api/processes", alice, """{"process_type":"export"}""");
        Assert.That(third.Status, Is.EqualTo(429), "two running, one on each hub: the third is refused on either " + third);
        Assert.That(third.Json.GetProperty("error").GetProperty("code").GetString(), Is.EqualTo("too_many_processes"));
        var onTwo = await RawHttpClient.PostAsync(two, "/api/processes", alice, """{"process_type":"export"}""");
        Assert.That(onTwo.Status, Is.EqualTo(429), onTwo.ToString());
        await HubCluster.StartProcessAsync(two, bob); // the limit is per owner

        var done = await RawHttpClient.PostAsync(two, $"/api/processes/{first}/complete", alice, null);
        Assert.That(done.Status, Is.EqualTo(200), done.ToString());
        string fourth = await HubCluster.StartProcessAsync(one, alice);

        var cancelled = await RawHttpClient.PostAsync(one, $"/api/processes/{second}/cancel", alice, null);
        Assert.That(cancelled.Status, Is.EqualTo(200), cancelled.ToString());
        await HubCluster.StartProcessAsync(two, alice);
        var again = await RawHttpClient.PostAsync(one, "/api/processes", alice, """{"process_type":"export"}""");
        Assert.That(again.Status, Is.EqualTo(429), $"{fourth} and the fifth run: full again " + again);
    }
}
