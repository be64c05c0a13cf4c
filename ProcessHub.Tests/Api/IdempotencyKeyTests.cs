using System.Text.Json;
using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Api;

/// <summary>
/// <c>Idempotency-Key</c> on <c>POST /api/processes</c> (docs/protocol.md 1.4.1) over real HTTP to a hub with the memory
/// store: a repeat names the first process and publishes nothing, another request with the key is 422, keys are per
/// caller, concurrent repeats make one process, and a start without the key is as it always was.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class IdempotencyKeyTests : ApiFixture
{
    private const string Body = """{"process_type":"export","total":3,"params":{"file":"a.csv"}}""";

    [Test]
    public async Task A_repeat_with_the_same_key_answers_the_same_id_and_publishes_nothing()
    {
        var (alice, token) = NewUser();
        await using var tab = await Server.OpenTabAsync(alice);

        var first = await StartAsync(token, Body, "start-1");
        var repeat = await StartAsync(token, Body, "start-1");
        string next = await Server.CreateAsync(token, new { process_type = "next" });

        Assert.That(first.Status, Is.EqualTo(201), first.ToString());
        Assert.That(repeat.Status, Is.EqualTo(201), repeat.ToString());
        string id = first.Json.Str("process_id");
        Assert.Multiple(() =>
        {
            Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(id));
            Assert.That(Json.Keys(repeat.Json), Is.EqualTo(new[] { "process_id" }));
            Assert.That(first.Header("Idempotent-Replayed"), Is.Null, "the first start is not a replay");
            Assert.That(repeat.Header("Idempotent-Replayed"), Is.EqualTo("true"));
        });
        // The tab sees the first start, then the next process's: no second process_started in between.
        var started = await tab.ReceiveAsync();
        var afterIt = await tab.ReceiveAsync();
        Assert.That((started.Type, started.ProcessId), Is.EqualTo(("process_started", id)));
        Assert.That((afterIt.Type, afterIt.ProcessId), Is.EqualTo(("process_started", next)), "the repeat published nothing");
        Assert.That(await CountAsync(token), Is.EqualTo(2));
    }

    [Test]
    public async Task A_repeat_after_the_process_ended_still_names_it()
    {
        var (_, token) = NewUser();
        string id = (await StartAsync(token, Body, "ended-key")).Json.Str("process_id");
        var completed = await Server.PostAsync($"/api/processes/{id}/complete", token, "{}");
        Assert.That(completed.Status, Is.EqualTo(200), completed.ToString());

        var repeat = await StartAsync(token, Body, "ended-key");

        Assert.That(repeat.Status, Is.EqualTo(201), repeat.ToString());
        Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(id));
        Assert.That(repeat.Header("Idempotent-Replayed"), Is.EqualTo("true"));
        Assert.That((await Server.GetProcessAsync(id, token)).Str("status"), Is.EqualTo("completed"), "nothing restarted it");
        Assert.That(await CountAsync(token), Is.EqualTo(1));
    }

    [TestCase("""{"process_type":"import","total":3,"params":{"file":"a.csv"}}""", TestName = "Reused_key_422_another_process_type")]
    [TestCase("""{"process_type":"export","total":4,"params":{"file":"a.csv"}}""", TestName = "Reused_key_422_another_total")]
    [TestCase("""{"process_type":"export","total":3,"params":{"file":"b.csv"}}""", TestName = "Reused_key_422_other_params")]
    [TestCase("""{"process_type":"export","total":3}""", TestName = "Reused_key_422_no_params")]
    [TestCase("""{"process_type":"export","total":3,"params":{"file":"a.csv"},"owner":"someone-else"}""", TestName = "Reused_key_422_another_owner")]
    public async Task The_same_key_for_another_request_is_422_and_starts_nothing(string other)
    {
        var (_, token) = NewUser("producer"); // may name another owner, so that the owner is what differs
        var first = await StartAsync(token, Body, "reused");
        Assert.That(first.Status, Is.EqualTo(201), first.ToString());

        var reused = await StartAsync(token, other, "reused");

        Assert.That(reused.Status, Is.EqualTo(422), reused.ToString());
        Assert.That(reused.ErrorCode, Is.EqualTo("idempotency_key_reused"));
        Assert.That(reused.ErrorMessage, Is.EqualTo("this Idempotency-Key was used for another request"));
        Assert.That(await CountAsync(token), Is.EqualTo(1), "nothing was started for the caller");
        var others = await Server.GetAsync("/api/processes?owner=someone-else", Server.Token("an-admin", admin: true));
        Assert.That(others.Json.GetProperty("processes").GetArrayLength(), Is.Zero, "nor for the other owner");
    }

    [Test]
    public async Task White_space_in_the_body_and_an_owner_named_as_the_default_are_the_same_request()
    {
        var (alice, token) = NewUser();
        string id = (await StartAsync(token, Body, "same")).Json.Str("process_id");

        var spaced = await StartAsync(token, $$"""{ "params" : { "file" : "a.csv" }, "total" : 3, "process_type" : "export", "owner" : "{{alice}}" }""", "same");

        Assert.That(spaced.Status, Is.EqualTo(201), spaced.ToString());
        Assert.That(spaced.Json.Str("process_id"), Is.EqualTo(id));
    }

    [Test]
    public async Task Keys_are_per_caller_so_another_user_with_the_same_key_gets_a_process_of_their_own()
    {
        var (_, alice) = NewUser();
        var (_, bob) = NewUser();

        string alices = (await StartAsync(alice, Body, "shared-name")).Json.Str("process_id");
        var bobs = await StartAsync(bob, Body, "shared-name");
        var bobsRepeat = await StartAsync(bob, Body, "shared-name");

        Assert.That(bobs.Status, Is.EqualTo(201), bobs.ToString());
        Assert.That(bobs.Json.Str("process_id"), Is.Not.EqualTo(alices));
        Assert.That(bobs.Header("Idempotent-Replayed"), Is.Null);
        Assert.That(bobsRepeat.Json.Str("process_id"), Is.EqualTo(bobs.Json.Str("process_id")), "bob's repeat names bob's process");
        Assert.That(await CountAsync(alice), Is.EqualTo(1));
        Assert.That(await CountAsync(bob), Is.EqualTo(1));
    }

    [TestCase("", TestName = "Idempotency_key_400_empty")]
    [TestCase("has space", TestName = "Idempotency_key_400_a_space_inside")]
    [TestCase("caf\u00e9", TestName = "Idempotency_key_400_not_ASCII")]
    [TestCase("tab\tinside", TestName = "Idempotency_key_400_a_tab_inside")]
    public async Task A_key_that_is_not_1_to_255_visible_ASCII_characters_is_400(string key)
    {
        var (_, token) = NewUser();

        var reply = await StartAsync(token, Body, key);

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorMessage, Is.EqualTo("Idempotency-Key must be 1 to 255 visible ASCII characters"));
        Assert.That(await CountAsync(token), Is.Zero);
    }

    [Test]
    public async Task A_key_of_255_characters_is_taken_and_one_of_256_is_400()
    {
        var (_, token) = NewUser();
        string longest = new('k', 255);

        var taken = await StartAsync(token, Body, longest);
        var repeat = await StartAsync(token, Body, longest);
        var tooLong = await StartAsync(token, Body, longest + "k");

        Assert.That(taken.Status, Is.EqualTo(201), taken.ToString());
        Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(taken.Json.Str("process_id")));
        Assert.That(tooLong.Status, Is.EqualTo(400), tooLong.ToString());
        Assert.That(tooLong.ErrorMessage, Is.EqualTo("Idempotency-Key must be 1 to 255 visible ASCII characters"));
    }

    [Test]
    public async Task The_header_given_twice_is_400()
    {
        var (_, token) = NewUser();

        var reply = await Server.PostAsync("/api/processes", token, Body, ("Idempotency-Key", "one"), ("Idempotency-Key", "one"));

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorMessage, Is.EqualTo("the Idempotency-Key header appears more than once: send it once"));
        Assert.That(await CountAsync(token), Is.Zero);
    }

    [Test]
    public async Task Concurrent_starts_with_one_key_make_one_process()
    {
        var (_, token) = NewUser();
        const int Starts = 16;

        var replies = await Task.WhenAll(Enumerable.Range(0, Starts).Select(_ => Task.Run(() => StartAsync(token, Body, "racing"))));

        Assert.That(replies.Select(r => r.Status), Is.All.EqualTo(201), string.Join("\n", replies.Select(r => r.ToString())));
        Assert.That(replies.Select(r => r.Json.Str("process_id")).Distinct().Count(), Is.EqualTo(1), "every answer names the one process");
        Assert.That(replies.Count(r => r.Header("Idempotent-Replayed") is null), Is.EqualTo(1), "one start, the others replays");
        Assert.That(await CountAsync(token), Is.EqualTo(1));
    }

    [Test]
    public async Task Without_the_key_every_start_is_a_new_process_as_before()
    {
        var (_, token) = NewUser();

        var first = await Server.PostAsync("/api/processes", token, Body);
        var second = await Server.PostAsync("/api/processes", token, Body);

        Assert.That((first.Status, second.Status), Is.EqualTo((201, 201)));
        Assert.That(second.Json.Str("process_id"), Is.Not.EqualTo(first.Json.Str("process_id")));
        Assert.That(second.Header("Idempotent-Replayed"), Is.Null);
        Assert.That(await CountAsync(token), Is.EqualTo(2));
    }

    [Test]
    public async Task A_repeat_is_not_refused_by_the_running_limit_since_it_starts_nothing()
    {
        await using var host = Infrastructure.HubTestHost.Start(new HubOptions { MaxProcessesPerUser = 1 });
        string token = host.Token("limited");
        var first = await host.PostAsync("/api/processes", token, Body, ("Idempotency-Key", "only-one"));

        var repeat = await host.PostAsync("/api/processes", token, Body, ("Idempotency-Key", "only-one"));
        var another = await host.PostAsync("/api/processes", token, Body, ("Idempotency-Key", "another"));

        Assert.That(first.Status, Is.EqualTo(201), first.ToString());
        Assert.That(repeat.Status, Is.EqualTo(201), repeat.ToString());
        Assert.That(repeat.Json.Str("process_id"), Is.EqualTo(first.Json.Str("process_id")));
        Assert.That((another.Status, another.ErrorCode), Is.EqualTo((429, "too_many_processes")), "a new key is a new start, which the limit refuses");
    }

    private Task<HttpReply> StartAsync(string token, string body, string key) =>
        Server.PostAsync("/api/processes", token, body, ("Idempotency-Key", key));

    private async Task<int> CountAsync(string token)
    {
        var list = await Server.GetAsync("/api/processes", token);
        Assert.That(list.Status, Is.EqualTo(200), list.ToString());
        return list.Json.GetProperty("processes").GetArrayLength();
    }
}
