using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// Redis refusing the hubs' writes while their connections stay up (-OOM under noeviction, -READONLY, -BUSY; here an
/// ACL's -NOPERM, which can be lifted one hub at a time) lets every lease lapse. The first hub whose renewals work
/// again must not end the runs of hubs that are merely a moment behind it as hub_lost (docs/protocol.md 11.6): it
/// judges others only after a whole lease of renewals that worked. Real hub binaries on a real Redis.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class RefusedLeaseRenewalsTests
{
    private const string Prefix = "processhub:";

    [Test]
    public async Task After_a_spell_of_refused_writes_the_first_hub_back_does_not_end_the_runs_of_a_hub_a_moment_behind_it()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var db = admin.GetDatabase();
        var judge = await RedisHubUser.CreateAsync(admin, "judging-hub");
        var runner = await RedisHubUser.CreateAsync(admin, "running-hub");
        // Two endpoints (the second one is not listening): the judging hub renews its lease through the client
        // library alone, so each renewal of its lease is a tick of the loop that also judges.
        string judgeConfiguration = $"{redis.Configuration},127.0.0.2:{redis.Port},user={judge.Name},password={judge.Name}-secret";
        // A long lease for the judging hub: the test must let the running hub back within it, after seeing two of the
        // judging hub's renewals, and a loaded machine can take seconds for that (4 s flaked under load).
        var (judgingHub, _) = await HubCluster.StartBinaryWithConfigurationAsync(judgeConfiguration, "--redis-lease", "10");
        await using var _1 = judgingHub;
        var (runningHub, running) = await HubCluster.StartBinaryAsUserAsync(redis, runner, "--redis-lease", "2");
        await using var _2 = runningHub;
        string token = HubCluster.Token("alice");
        var started = await RawHttpClient.PostAsync(running, "/api/benchmark", token, """{"models":["GPT-4o"],"runs":1000,"contexts":["1K"],"step_ms":50}""");
        Assert.That(started.Status, Is.EqualTo(202), started.ToString());
        string run = started.Json.GetProperty("process_id").GetString()!;
        // The only run is the running hub's, so only the judging hub has a lease to judge: every EXISTS Redis counts
        // from here on is the judging hub's (the scripts ask it only at a start, and for a lost hub's run).
        string runningLease = Prefix + "hub:" + (string?)await db.HashGetAsync(Prefix + "p:" + run, "hub");
        string judgeLease = (await Eventually.HoldsAsync(async () => (await server.KeysAsync(pattern: Prefix + "hub:*").ToListAsync()).Select(k => (string)k!).ToList(),
            leases => leases.Count == 2, "both hubs' leases")).Single(lease => lease != runningLease);
        long judged = await ExistsCallsAsync(server);
        // A hub judges others only once its own renewals have worked for a whole lease (10 s here) since it started: a
        // wait of the default 10 s from a moment after that start leaves a loaded machine too little.
        await Eventually.HoldsAsync(() => ExistsCallsAsync(server), calls => calls > judged, "the judging hub judging the running hub's lease", timeout: TimeSpan.FromSeconds(30));

        // Both hubs' writes refused until both leases have lapsed.
        await server.ExecuteAsync("ACL", "SETUSER", judge.Name, "-@write");
        await server.ExecuteAsync("ACL", "SETUSER", runner.Name, "-@write");
        // The judging hub's lease is 10 s and may have been renewed the instant before: the wait must be longer than
        // that (the default 10 s raced it, and lost once in a loaded fresh-clone run).
        await Eventually.HoldsAsync(async () => (await db.StringGetAsync(judgeLease)).IsNull && (await db.StringGetAsync(runningLease)).IsNull,
            lapsed => lapsed, "both leases lapsing", timeout: TimeSpan.FromSeconds(30));

        // The judging hub is back first, the running hub after two of the judging hub's renewals. Its loop renews, then
        // judges, then waits for its next tick, so by the second renewal any judgement of the first has been carried
        // out: the running hub's lease had lapsed then. The running hub is back well within the judging hub's lease
        // (10 s; it renews every half second), and a hub must judge no one until it has renewed for a whole lease.
        await judge.LetBackAsync();
        await Eventually.HoldsAsync(async () => (await db.StringGetAsync(judgeLease)).IsNull, lapsed => !lapsed, "the judging hub renewing its lease");
        // A renewal sets the time to live back to the lease: seen as a time to live higher than the first one, less the
        // time since, by more than a second (renewals come every 2.5 s; a plain "higher than the first" missed them when
        // the first reading was taken the instant after a renewal).
        var left = await db.KeyTimeToLiveAsync(judgeLease) ?? TimeSpan.Zero;
        var readAt = Stopwatch.GetTimestamp();
        await Eventually.HoldsAsync(() => db.KeyTimeToLiveAsync(judgeLease),
            now => now > left - Stopwatch.GetElapsedTime(readAt) + TimeSpan.FromSeconds(1), "the judging hub renewing its lease again");
        await runner.LetBackAsync();
        await Eventually.HoldsAsync(async () => (await db.StringGetAsync(runningLease)).IsNull, lapsed => !lapsed, "the running hub renewing its lease");

        // Once the judging hub has judged again, the run is still running: its hub was alive all along. (A run ended
        // meanwhile is no longer judged: that ends the wait too.)
        judged = await ExistsCallsAsync(server);
        await Eventually.HoldsAsync(async () => (Calls: await ExistsCallsAsync(server), Status: (string?)await db.HashGetAsync(Prefix + "p:" + run, "status")),
            seen => seen.Calls > judged || seen.Status != "running", "the judging hub judging again", timeout: TimeSpan.FromSeconds(30)); // a whole lease after its first renewal that worked
        var status = (string?)await db.HashGetAsync(Prefix + "p:" + run, "status");
        var error = (string?)await db.HashGetAsync(Prefix + "p:" + run, "error");
        Assert.That(status, Is.EqualTo("running"), $"{error}\njudging hub:\n{judgingHub.Stdout}{judgingHub.Stderr}\nrunning hub:\n{runningHub.Stdout}{runningHub.Stderr}");
    }

    /// <summary>How many EXISTS Redis has run: the hubs ask it only to judge other hubs' leases.</summary>
    private static async Task<long> ExistsCallsAsync(IServer server)
    {
        var line = (await server.InfoRawAsync("commandstats") ?? "").Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_exists:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split("calls=")[1].Split(',')[0], CultureInfo.InvariantCulture);
    }
}
