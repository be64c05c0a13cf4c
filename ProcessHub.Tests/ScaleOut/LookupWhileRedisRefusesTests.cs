using NUnit.Framework;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A lookup of a process this hub does not know asks Redis (docs/protocol.md 11.1); when Redis answers with an error
/// (-NOPERM, -BUSY) rather than not at all, the hub still cannot tell, and says "try again" as when Redis is away
/// (11.4): 503 with Retry-After: 1, never a 500. Real hub, real Redis.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class LookupWhileRedisRefusesTests
{
    [Test]
    public async Task An_unknown_process_is_503_while_Redis_refuses_the_hubs_lookup_with_NOPERM()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var user = await RedisHubUser.CreateAsync(admin, "refused-hub");
        await using var hub = HubCluster.StartInProcess(redis, user.ConfigurationOn(redis));
        string token = HubCluster.Token("alice");

        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("ACL", "SETUSER", user.Name, "-hget");
        var lookup = await RawHttpClient.GetAsync(hub.LocalEndPoint, "/api/processes/0123456789abcdef", token);
        Assert.That((lookup.Status, lookup.ErrorCode, lookup.Header("Retry-After")), Is.EqualTo((503, "unavailable", "1")), lookup.ToString());

        await user.LetBackAsync();
        var known = await RawHttpClient.GetAsync(hub.LocalEndPoint, "/api/processes/0123456789abcdef", token);
        Assert.That(known.Status, Is.EqualTo(404), known.ToString());
    }

    [Test]
    public async Task An_unknown_process_is_503_when_Redis_offset_key_holds_something_that_is_not_a_number()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        await using var hub = HubCluster.StartInProcess(redis);
        string token = HubCluster.Token("alice");

        // Written by something other than a hub (an operator's mistake, another program on the same prefix): the hub
        // cannot tell from it whether it has applied the process, so "try again", as when Redis is away.
        var db = admin.GetDatabase();
        await db.HashSetAsync("processhub:p:0123456789abcdef", "status", "running");
        await db.StringSetAsync("processhub:offset", "not a number");
        var lookup = await RawHttpClient.GetAsync(hub.LocalEndPoint, "/api/processes/0123456789abcdef", token);
        Assert.That((lookup.Status, lookup.ErrorCode, lookup.Header("Retry-After")), Is.EqualTo((503, "unavailable", "1")), lookup.ToString());
    }

    [Test]
    public async Task An_unknown_process_is_503_while_a_long_script_keeps_Redis_BUSY()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await using var hub = HubCluster.StartInProcess(redis);
        string token = HubCluster.Token("alice");

        // Redis answers -BUSY to everyone else once a script has run longer than this (the default is 5 s).
        await server.ExecuteAsync("CONFIG", "SET", "busy-reply-threshold", "100");
        // Connected before: a busy Redis refuses a new connection's handshake too.
        await using var busy = await redis.ConnectAsync();
        await using var probe = await redis.ConnectAsync();
        await using var killer = await redis.ConnectAsync();
        var script = busy.GetDatabase().ScriptEvaluateAsync("local i = 0 while true do i = i + 1 end");
        try
        {
            await Eventually.HoldsAsync(async () =>
                {
                    try
                    {
                        await probe.GetDatabase().PingAsync();
                        return false;
                    }
                    catch (StackExchange.Redis.RedisServerException ex) when (ex.Message.StartsWith("BUSY", StringComparison.Ordinal))
                    {
                        return true;
                    }
                },
                isBusy => isBusy, "Redis answering -BUSY");
            var lookup = await RawHttpClient.GetAsync(hub.LocalEndPoint, "/api/processes/0123456789abcdef", token);
            Assert.That((lookup.Status, lookup.ErrorCode, lookup.Header("Retry-After")), Is.EqualTo((503, "unavailable", "1")), lookup.ToString());
        }
        finally
        {
            // SCRIPT KILL is one of the few commands a busy Redis takes (the script has written nothing).
            await killer.GetServer(killer.GetEndPoints()[0]).ExecuteAsync("SCRIPT", "KILL");
            Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(async () => await script);
        }
    }
}
