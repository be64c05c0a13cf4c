using System.Net;
using NUnit.Framework;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// <c>Idempotency-Key</c> with the shared engine (docs/protocol.md 1.4.1, section 11): real hub binaries on a real
/// Redis. The key is claimed inside start.lua, so a repeat through another hub names the same process and publishes
/// nothing, concurrent starts through both hubs make one process, and the claim lives as long as the process's keys.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class IdempotencyKeyAcrossHubsTests
{
    private const string Body = """{"process_type":"export","total":3,"params":{"file":"a.csv"}}""";

    [Test]
    public async Task A_key_used_on_hub_1_and_repeated_on_hub_2_names_the_same_process_and_publishes_nothing()
    {
        await using var redis = await RedisServer.StartAsync();
        var (hub1, one) = await HubCluster.StartBinaryAsync(redis);
        await using var _1 = hub1;
        var (hub2, two) = await HubCluster.StartBinaryAsync(redis);
        await using var _2 = hub2;
        string alice = HubCluster.Token("alice");
        await using var tab = await HubCluster.OpenTabAsync(two, alice);

        var first = await StartAsync(one, alice, Body, "worker-7-job-1");
        var repeat = await StartAsync(two, alice, Body, "worker-7-job-1");
        var reused = await StartAsync(two, alice, """{"process_type":"export","total":4}""", "worker-7-job-1");
        var bobs = await StartAsync(two, HubCluster.Token("bob"), Body, "worker-7-job-1");
        string next = await HubCluster.StartProcessAsync(two, alice);

        Assert.That(first.Status, Is.EqualTo(201), first.ToString());
        string id = first.Json.Str("process_id");
        Assert.Multiple(() =>
        {
            Assert.That(repeat.Status, Is.EqualTo(201), repeat.ToString());
            Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(id), "hub 2 names the process hub 1 started");
            Assert.That(repeat.Header("Idempotent-Replayed"), Is.EqualTo("true"));
            Assert.That(first.Header("Idempotent-Replayed"), Is.Null);
            Assert.That((reused.Status, reused.ErrorCode), Is.EqualTo((422, "idempotency_key_reused")), reused.ToString());
            Assert.That(bobs.Status, Is.EqualTo(201), bobs.ToString());
            Assert.That(bobs.Json.Str("process_id"), Is.Not.EqualTo(id), "bob's key is bob's own");
        });
        // Hub 2's tab of alice: the first start, then the next process's; the repeat published nothing.
        var started = await tab.ReceiveAsync();
        var afterIt = await tab.ReceiveAsync();
        Assert.That((started.Type, started.ProcessId), Is.EqualTo(("process_started", id)));
        Assert.That((afterIt.Type, afterIt.ProcessId), Is.EqualTo(("process_started", next)), "no second process_started");
        // The repeat was answered once hub 2 had the process: the worker's next request there finds it.
        var report = await RawHttpClient.PostAsync(two, $"/api/processes/{id}/progress", alice, """{"current":1,"total":3}""");
        Assert.That(report.Status, Is.EqualTo(200), report.ToString());
    }

    [Test]
    public async Task Concurrent_starts_with_one_key_through_both_hubs_make_one_process()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var (hub1, one) = await HubCluster.StartBinaryAsync(redis);
        await using var _1 = hub1;
        var (hub2, two) = await HubCluster.StartBinaryAsync(redis);
        await using var _2 = hub2;
        string alice = HubCluster.Token("alice");
        const int Starts = 16;

        var replies = await Task.WhenAll(Enumerable.Range(0, Starts).Select(i => Task.Run(() => StartAsync(i % 2 == 0 ? one : two, alice, Body, "racing"))));

        Assert.That(replies.Select(r => r.Status), Is.All.EqualTo(201), string.Join("\n", replies.Select(r => r.ToString())));
        Assert.That(replies.Select(r => r.Json.Str("process_id")).Distinct().Count(), Is.EqualTo(1), "every answer names the one process");
        Assert.That(replies.Count(r => r.Header("Idempotent-Replayed") is null), Is.EqualTo(1), "one start, the others replays");
        Assert.That(await admin.GetDatabase().SortedSetLengthAsync("processhub:index"), Is.EqualTo(1), "Redis holds one process");
    }

    [Test]
    public async Task The_claim_lives_as_long_as_its_process()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var admin = await redis.ConnectAsync();
        var db = admin.GetDatabase();
        var (hub, endPoint) = await HubCluster.StartBinaryAsync(redis);
        await using var _ = hub;
        string alice = HubCluster.Token("alice");
        string id = (await StartAsync(endPoint, alice, Body, "lifetime")).Json.Str("process_id");
        string process = "processhub:p:" + id;
        string claim = (string?)await db.HashGetAsync(process, "idempotency") ?? throw new AssertionException("the process names no claim");

        Assert.That(await db.HashGetAsync(claim, "id"), Is.EqualTo((RedisValue)id));
        Assert.That(await db.KeyTimeToLiveAsync(claim), Is.Null, "no time to live while the process runs");

        var completed = await RawHttpClient.PostAsync(endPoint, $"/api/processes/{id}/complete", alice, "{}");
        Assert.That(completed.Status, Is.EqualTo(200), completed.ToString());
        var processLives = await db.KeyTimeToLiveAsync(process);
        var claimLives = await db.KeyTimeToLiveAsync(claim);
        Assert.That(processLives, Is.Not.Null, "the ended process expires");
        Assert.That(claimLives, Is.Not.Null, "and its claim with it");
        // One EXPIRE of the same seconds for both in end.lua; Redis 7.0 reads its clock at each command of a script, so
        // the claim's deadline may be a millisecond past the process's (seen in a fresh-clone run: 15:59.989 against
        // 15:59.988). The same retention, to within the second EXPIRE counts in.
        Assert.That((claimLives!.Value - processLives!.Value).Duration(), Is.LessThan(TimeSpan.FromSeconds(1)), $"the claim lives as long as the process: {claimLives} and {processLives}");
        var afterEnd = await StartAsync(endPoint, alice, Body, "lifetime");
        Assert.That((afterEnd.Status, afterEnd.Json.Str("process_id")), Is.EqualTo((201, id)), "an ended process is still named");

        // What the expiry does to the process: gone from Redis, its claim names nothing, and the key starts afresh.
        await db.KeyDeleteAsync([process, "processhub:e:" + id]);
        var again = await StartAsync(endPoint, alice, Body, "lifetime");
        Assert.That(again.Status, Is.EqualTo(201), again.ToString());
        Assert.That(again.Json.Str("process_id"), Is.Not.EqualTo(id));
        Assert.That(again.Header("Idempotent-Replayed"), Is.Null);
    }

    [Test]
    public async Task A_repeat_whose_process_the_hub_has_let_go_starts_afresh_instead_of_naming_a_404()
    {
        // One ended process kept per owner: the hub lets the first go as soon as the second ends, while Redis keeps
        // the first's keys (and its claim) until a minute past the retention window.
        await using var redis = await RedisServer.StartAsync();
        var (hub, endPoint) = await HubCluster.StartBinaryAsync(redis, "--max-processes-per-user", "1");
        await using var _ = hub;
        string alice = HubCluster.Token("alice");
        var first = await StartAsync(endPoint, alice, Body, "job-1");
        Assert.That(first.Status, Is.EqualTo(201), first.ToString());
        string id = first.Json.Str("process_id");
        Assert.That((await RawHttpClient.PostAsync(endPoint, $"/api/processes/{id}/complete", alice, null)).Status, Is.EqualTo(200));
        string second = await HubCluster.StartProcessAsync(endPoint, alice);
        Assert.That((await RawHttpClient.PostAsync(endPoint, $"/api/processes/{second}/complete", alice, null)).Status, Is.EqualTo(200));
        await Eventually.HoldsAsync(async () => (await RawHttpClient.GetAsync(endPoint, $"/api/processes/{id}", alice)).Status,
            status => status == 404, "the hub letting the first process go");
        await using (var admin = await redis.ConnectAsync())
        {
            Assert.That(await admin.GetDatabase().KeyExistsAsync("processhub:p:" + id), Is.True, "the premise: Redis still keeps it");
        }

        var repeat = await StartAsync(endPoint, alice, Body, "job-1");
        Assert.That(repeat.Status, Is.EqualTo(201), repeat.ToString());
        string again = repeat.Json.Str("process_id");
        Assert.That(again, Is.Not.EqualTo(id), "not the process the hub answers 404 for");
        Assert.That(repeat.Header("Idempotent-Replayed"), Is.Null);
        Assert.That((await RawHttpClient.GetAsync(endPoint, $"/api/processes/{again}", alice)).Status, Is.EqualTo(200));
        var thenRepeated = await StartAsync(endPoint, alice, Body, "job-1");
        Assert.That((thenRepeated.Json.Str("process_id"), thenRepeated.Header("Idempotent-Replayed")), Is.EqualTo((again, "true")), "the key now names the new process");
    }

    [Test]
    public async Task The_start_script_replaces_a_claim_only_when_the_process_it_names_has_ended()
    {
        // A hub asks for a claim to be replaced when it has caught up and does not hold the process; a hub whose wait
        // for the process gave up has not caught up and does not ask. Should one ask all the same, the script keeps
        // the claim of a running process: a second process for one start is what the key is there to prevent.
        await using var redis = await RedisServer.StartAsync();
        var (hub, endPoint) = await HubCluster.StartBinaryAsync(redis);
        await using var _ = hub;
        string alice = HubCluster.Token("alice");
        var first = await StartAsync(endPoint, alice, Body, "job-1");
        Assert.That(first.Status, Is.EqualTo(201), first.ToString());
        string id = first.Json.Str("process_id");
        await using var admin = await redis.ConnectAsync();
        var db = admin.GetDatabase();
        string claim = (string)(await db.HashGetAsync("processhub:p:" + id, "idempotency"))!;
        string request = (string)(await db.HashGetAsync(claim, "request"))!;

        // The script as a hub runs it, asked to replace the claim if it names `id`; its writes go to keys of the
        // test's own (no hub hears of "fresh"), but for the claim.
        async Task<string[]> StartReplacingAsync() => [.. ((RedisResult[])(await db.ScriptEvaluateAsync(ProcessHub.Redis.RedisScripts.Start,
            ["processhub:epoch", "test:offset", "test:log", "test:index", "test:p:fresh", "test:e:fresh", "test:running", claim],
            [(string)(await db.StringGetAsync("processhub:epoch"))!, "fresh", "export", "alice", "", 1, "0", "-", """{"current":0,"total":3}""",
             "{", "}", 1000, 1000, "test:events", 1000, request, "processhub:p:", id]))!).Select(r => (string)r!)];

        var whileRunning = await StartReplacingAsync();
        Assert.That(whileRunning[..2], Is.EqualTo(new[] { "replayed", id }), "the claim of a running process stands");
        Assert.That((await RawHttpClient.PostAsync(endPoint, $"/api/processes/{id}/complete", alice, null)).Status, Is.EqualTo(200));
        var onceEnded = await StartReplacingAsync();
        Assert.That(onceEnded[0], Is.EqualTo("ok"), "the claim of an ended process is replaced when asked");
        Assert.That((string?)await db.HashGetAsync(claim, "id"), Is.EqualTo("fresh"));
    }

    private static Task<HttpReply> StartAsync(IPEndPoint hub, string token, string body, string key) =>
        RawHttpClient.PostAsync(hub, "/api/processes", token, body, ("Idempotency-Key", key));
}
