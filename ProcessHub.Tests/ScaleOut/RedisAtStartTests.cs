using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using NUnit.Framework;
using ProcessHub.Tests.Cli;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// docs/protocol.md section 11.7: a hub started with <c>--redis</c> keeps trying to reach Redis for
/// <c>--redis-start-wait</c> seconds, then exits with code 1 and one line that names the address, never the password.
/// </summary>
[TestFixture]
[Category("process")]
public sealed partial class RedisAtStartTests
{
    private const string Password = "never-printed-redis-password";

    [Test]
    public async Task A_hub_that_cannot_reach_Redis_exits_with_code_1_and_one_line_without_the_password()
    {
        await using var redis = RedisServer.Reserve(); // never started: nothing listens on its port
        await using var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", HubCluster.Secret, "--redis", $"{redis.Configuration},password={Password}", "--redis-start-wait", "0"],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(1), hub.Stderr + hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain($"cannot reach Redis at {redis.Configuration}"), hub.Stderr);
        Assert.That(hub.Stderr + hub.Stdout, Does.Not.Contain(Password));
        Assert.That(hub.Stderr + hub.Stdout, Does.Not.Match(@"\n\s+at \S+\("), "no stack trace");
        Assert.That(hub.Stdout, Does.Not.Contain("ProcessHub listening on"));
    }

    [Test]
    public async Task A_hub_whose_password_Redis_refuses_says_so_rather_than_that_Redis_cannot_be_reached()
    {
        // A wrong password was "cannot reach Redis at ...: is it running?", which sent people looking at the wrong thing.
        await using var redis = await StartRedisWithAnotherPasswordAsync();
        await using var hub = StartHubWithTheWrongPassword(redis, startWait: "0");

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(1), hub.Stderr + hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain($"Redis at {redis.Configuration} refused the hub's credentials"), hub.Stderr);
        Assert.That(hub.Stderr + hub.Stdout, Does.Not.Contain(Password));
    }

    [Test]
    public async Task A_hub_finding_an_offset_that_is_not_a_number_exits_with_one_line_not_a_stack_trace()
    {
        // Written by another program under the hub's prefix: the hub cannot tell which events it has. It crashed at
        // start with an InvalidCastException and its stack trace.
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetDatabase().StringSetAsync("processhub:offset", "not a number");
        }
        await using var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", HubCluster.Secret, "--redis", redis.Configuration, "--redis-start-wait", "0"],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(1), hub.Stderr + hub.Stdout);
        Assert.That(hub.Stderr, Does.StartWith("processhub: cannot join the hubs on Redis").And.Contain("offset key processhub:offset does not hold a number"));
        Assert.That(hub.Stderr + hub.Stdout, Does.Not.Match(@"\n\s+at \S+\("), "no stack trace");
    }

    [Test]
    public async Task A_hub_whose_user_Redis_refuses_does_not_start_as_the_default_user()
    {
        // Redis refused the user's password and the client library went on as "default" (no password on it here):
        // the hub ran with rights other than those of the user --redis names, and said nothing.
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        await using var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", HubCluster.Secret, "--redis", $"{redis.Configuration},user=ghost,password={Password}", "--redis-start-wait", "0"],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(1), hub.Stderr + hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain($"Redis at {redis.Configuration},user=ghost refused the hub's credentials and signed it in as 'default'"), hub.Stderr);
        Assert.That(hub.Stderr + hub.Stdout, Does.Not.Contain(Password));
        Assert.That(hub.Stdout, Does.Not.Contain("ProcessHub listening on"));
    }

    [Test]
    public async Task A_hub_whose_check_of_its_Redis_user_gets_no_answer_tries_again_rather_than_start_as_the_default_user()
    {
        // The reply to ACL WHOAMI comes 3 s late, past the hub's 1-s timeout: that is no answer, not "cannot tell", so
        // the attempt fails and the next one finds the hub signed in as 'default' (a hub that went on here ran with
        // default's rights). Refused credentials are tried again too, until --redis-start-wait is over: 10 s here.
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        await using var proxy = new DelayingRedisProxy(redis.Port, TimeSpan.Zero) { HoldFirstWhoAmIReply = TimeSpan.FromSeconds(3) };
        await using var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", HubCluster.Secret, "--redis", $"{proxy.Configuration},user=ghost,password={Password}", "--redis-start-wait", "10"],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(1), hub.Stderr + hub.Stdout);
        Assert.That(hub.Stdout + hub.Stderr, Does.Contain($"Redis at {proxy.Configuration},user=ghost did not say which user it signed the hub in as (ACL WHOAMI: no answer within 1 s). Trying again in"));
        Assert.That(hub.Stderr, Does.Contain($"Redis at {proxy.Configuration},user=ghost refused the hub's credentials and signed it in as 'default'"), hub.Stderr);
        Assert.That(hub.Stderr + hub.Stdout, Does.Not.Contain(Password));
        Assert.That(hub.Stdout, Does.Not.Contain("ProcessHub listening on"));
    }

    [Test]
    public async Task While_a_hub_tries_again_at_start_each_line_says_why_and_then_when_in_two_sentences()
    {
        // "...check the user and password of --redis Trying again in 0.25 s" ran the two together.
        await using var redis = await StartRedisWithAnotherPasswordAsync();
        await using var hub = StartHubWithTheWrongPassword(redis, startWait: "300");

        string waiting = await hub.WaitForLineAsync(line => line.Contains("Trying again in", StringComparison.Ordinal), "the hub's first retry");
        Assert.That(waiting, Does.Contain("refused the hub's credentials: check the user and password of --redis. Trying again in"), waiting);
    }

    /// <summary>A Redis that wants a password other than <see cref="Password"/>, which the hubs here are given.</summary>
    private static async Task<RedisServer> StartRedisWithAnotherPasswordAsync()
    {
        var redis = await RedisServer.StartAsync(appendOnly: false);
        await using var admin = await redis.ConnectAsync();
        await admin.GetServers()[0].ConfigSetAsync("requirepass", "the-right-password");
        return redis;
    }

    private static HubProcess StartHubWithTheWrongPassword(RedisServer redis, string startWait) => HubProcess.Start(
        ["--port", "0", "--jwt-secret", HubCluster.Secret, "--redis", $"{redis.Configuration},password={Password}", "--redis-start-wait", startWait],
        new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });

    [Test]
    public async Task A_hub_started_before_its_Redis_joins_once_Redis_answers_and_takes_processes()
    {
        await using var redis = RedisServer.Reserve();
        await using var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", HubCluster.Secret, "--redis", redis.Configuration, "--ping-interval", "0", "--redis-start-wait", "300"],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });

        string waiting = await hub.WaitForLineAsync(line => line.Contains("Trying again in", StringComparison.Ordinal), "the hub's first retry");
        Assert.That(waiting, Does.Contain($"cannot reach Redis at {redis.Configuration}"));
        Assert.That(hub.Stdout, Does.Not.Contain("ProcessHub listening on"), "not listening before Redis answers");

        await redis.StartAgainAsync();
        string listening = await hub.WaitForLineAsync(line => line.StartsWith("ProcessHub listening on", StringComparison.Ordinal), "the listening line");
        var endPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(Listening().Match(listening).Groups[1].Value, CultureInfo.InvariantCulture));

        var created = await RawHttpClient.PostAsync(endPoint, "/api/processes", HubCluster.Token("alice"), """{"process_type":"export"}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        await using var admin = await redis.ConnectAsync();
        string id = created.Json.GetProperty("process_id").GetString()!;
        var keys = admin.GetServer(IPAddress.Loopback, redis.Port).Keys(pattern: "*" + id + "*").ToList();
        Assert.That(keys, Is.Not.Empty, "the process is in Redis");
    }

    [Test]
    public async Task The_banner_names_Redis_without_the_password_even_when_the_password_comes_first()
    {
        // From an audit: a password written first left no server to name before it, and the banner read "Processes
        // are kept in redis the servers of --redis".
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ConfigSetAsync("requirepass", Password);
        }
        await using var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", HubCluster.Secret, "--redis", $"password={Password},{redis.Configuration}", "--ping-interval", "0", "--redis-start-wait", "0"],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });

        string kept = await hub.WaitForLineAsync(line => line.StartsWith("Processes are kept in", StringComparison.Ordinal), "the banner's store line");
        Assert.That(kept, Does.StartWith("Processes are kept in Redis at the servers of --redis (shared; this hub is "));
        Assert.That(hub.Stderr + hub.Stdout, Does.Not.Contain(Password));
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();

    [TestCase("allkeys-lru", true)]
    [TestCase("noeviction", false)]
    public async Task A_Redis_that_evicts_keys_is_named_in_a_warning_at_start(string policy, bool warned)
    {
        // Evicting keys loses processes, hands out offsets again and drops live hubs' leases (docs/scale-out.md).
        await using var redis = await RedisServer.StartAsync();
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ConfigSetAsync("maxmemory-policy", policy);
        }
        var (hub, _) = await HubCluster.StartBinaryAsync(redis); // listening: the join, and its warning, came before
        await using var _ = hub;
        await hub.TerminateAsync();
        await hub.WaitForExitAsync();

        Assert.That(hub.Stdout.Contains($"Redis runs with maxmemory-policy {policy}", StringComparison.Ordinal), Is.EqualTo(warned), hub.Stdout);
    }

    [Test]
    public async Task A_Redis_that_does_not_let_the_hub_read_its_policy_gets_a_warning_that_it_went_unchecked()
    {
        // A managed Redis or an ACL without INFO: saying nothing read as "the policy was checked and is fine".
        await using var redis = await RedisServer.StartAsync();
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ConfigSetAsync("maxmemory-policy", "allkeys-lru");
            await admin.GetServers()[0].ExecuteAsync("ACL", "SETUSER", "default", "-info");
        }
        var (hub, _) = await HubCluster.StartBinaryAsync(redis);
        await using var _ = hub;
        await hub.TerminateAsync();
        await hub.WaitForExitAsync();

        Assert.That(hub.Stdout, Does.Contain("could not read Redis's maxmemory-policy (ERR The user executing the script can't run this command"), hub.Stdout);
        Assert.That(hub.Stdout, Does.Contain("make sure it is noeviction"), hub.Stdout);
        Assert.That(hub.Stdout, Does.Not.Contain("Redis runs with maxmemory-policy"), hub.Stdout);
    }
}
