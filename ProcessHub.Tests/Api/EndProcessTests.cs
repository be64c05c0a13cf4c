using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>POST .../complete, .../fail and .../cancel: a terminal state is final (409 afterwards).</summary>
[TestFixture]
[Category("socket")]
internal sealed class EndProcessTests : ApiFixture
{
    [Test]
    public async Task Complete_with_a_result_ends_the_process()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/complete", token, """{"result":{"rows":42,"file":"out.csv"}}""");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(reply.Json.Str("process_id"), Is.EqualTo(id));
        Assert.That(reply.Json.Str("status"), Is.EqualTo("completed"));
        var process = await Server.GetProcessAsync(id, token);
        Assert.Multiple(() =>
        {
            Assert.That(process.Str("status"), Is.EqualTo("completed"));
            Assert.That(process.Str("ended_at"), Does.Match(Json.TimestampPattern));
            Assert.That(process.Long("seq"), Is.EqualTo(2));
            Assert.That(process.TryGetProperty("error", out _), Is.False);
        });
    }

    [Test]
    public async Task Complete_without_a_body_is_allowed()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/complete", token, null);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
    }

    [Test]
    public async Task A_result_over_64_KiB_is_413_and_the_process_keeps_running()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        string result = "\"" + new string('r', 64 * 1024) + "\"";

        var reply = await Server.PostAsync($"/api/processes/{id}/complete", token, $$"""{"result":{{result}}}""");

        Assert.That(reply.Status, Is.EqualTo(413), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("too_large"));
        Assert.That((await Server.GetProcessAsync(id, token)).Str("status"), Is.EqualTo("running"));
    }

    [Test]
    public async Task Complete_twice_is_409()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        Assert.That((await Server.PostAsync($"/api/processes/{id}/complete", token, "{}")).Status, Is.EqualTo(200));

        var reply = await Server.PostAsync($"/api/processes/{id}/complete", token, "{}");

        Assert.That(reply.Status, Is.EqualTo(409), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("conflict"));
        Assert.That((await Server.GetProcessAsync(id, token)).Long("seq"), Is.EqualTo(2));
    }

    [Test]
    public async Task Complete_with_malformed_JSON_is_400()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/complete", token, "{\"result\":");

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That((await Server.GetProcessAsync(id, token)).Str("status"), Is.EqualTo("running"));
    }

    [Test]
    public async Task Fail_with_an_error_message_and_code_ends_the_process_as_failed()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/fail", token, """{"error":{"message":"disk full","code":"ENOSPC"}}""");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(reply.Json.Str("status"), Is.EqualTo("failed"));
        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.Str("status"), Is.EqualTo("failed"));
        Assert.That(Json.DeepEquals(process.GetProperty("error"), """{"message":"disk full","code":"ENOSPC"}"""), Is.True, process.ToString());
        Assert.That(process.Str("ended_at"), Does.Match(Json.TimestampPattern));
    }

    [TestCase("{}", TestName = "Fail_400_without_error")]
    [TestCase("""{"error":{}}""", TestName = "Fail_400_error_without_message")]
    [TestCase("""{"error":{"message":""}}""", TestName = "Fail_400_empty_message")]
    [TestCase("""{"error":{"message":5}}""", TestName = "Fail_400_message_not_a_string")]
    [TestCase("""{"error":"disk full"}""", TestName = "Fail_400_error_a_string")]
    [TestCase("""{"error":{"message":"x","code":3}}""", TestName = "Fail_400_code_not_a_string")]
    [TestCase("", TestName = "Fail_400_empty_body")]
    public async Task Fail_without_a_valid_error_message_is_400(string body)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/fail", token, body);

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("bad_request"));
        Assert.That((await Server.GetProcessAsync(id, token)).Str("status"), Is.EqualTo("running"));
    }

    [TestCase("""{"error":{"message":""}}""", "error.message must be a non-empty string")]
    [TestCase("""{"error":{"message":"x","code":""}}""", "error.code must be a non-empty string")]
    [TestCase("""{"error":{"message":"x","details":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}""", "the body may nest at most 32 levels of objects and arrays")]
    public async Task A_bad_failure_is_told_the_field_by_its_full_name(string body, string expected)
    {
        // "message must be a non-empty string" read as the answer's own message field; a body nested past the
        // limit was "malformed JSON", which sent its author looking for a syntax error.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/fail", token, body);

        Assert.That((reply.Status, reply.ErrorMessage), Is.EqualTo((400, expected)), reply.ToString());
    }

    [Test]
    public async Task A_report_after_a_failure_is_409_with_the_failures_code_and_message()
    {
        // As the hub ends a process a worker abandoned (stale), or one whose producer lived in the hub before a
        // restart: the worker never failed it, and the answer has to say why its report is refused.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        await Server.PostAsync($"/api/processes/{id}/fail", token, """{"error":{"message":"no report for 10 minutes","code":"stale"}}""");

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(409), reply.ToString());
        Assert.That(reply.ErrorMessage, Is.EqualTo("the process has already ended (failed: stale)"));
        Assert.That(reply.Json.Str("status"), Is.EqualTo("failed"));
        Assert.That(reply.Json.GetProperty("cancel_requested").GetBoolean(), Is.False);
        Assert.That(Json.DeepEquals(reply.Json.GetProperty("process_error"), """{"message":"no report for 10 minutes","code":"stale"}"""), Is.True, reply.ToString());
    }

    [Test]
    public async Task HTTP_answers_write_non_ASCII_and_HTML_characters_as_they_are_as_the_WebSocket_does()
    {
        // The answers' JSON escaped them for embedding in HTML (it\u0027s, \u00E9, \u003Ctag\u003E) where the WebSocket
        // and GET /api/processes/{id} sent them as they are (from an audit): one text, two spellings.
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        await Server.PostAsync($"/api/processes/{id}/fail", token, """{"error":{"message":"it's café <tag> & more","code":"ça"}}""");

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(409), reply.ToString());
        Assert.That(reply.Text, Does.Contain("""
            "process_error":{"message":"it's café <tag> & more","code":"ça"}
            """), reply.Text);
        Assert.That(reply.Text, Does.Contain("(failed: ça)"), "the error body's message too");
    }

    [Test]
    public async Task Fail_after_complete_is_409()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        await Server.PostAsync($"/api/processes/{id}/complete", token, "{}");

        var reply = await Server.PostAsync($"/api/processes/{id}/fail", token, """{"error":{"message":"late"}}""");

        Assert.That(reply.Status, Is.EqualTo(409), reply.ToString());
        Assert.That(reply.Json.TryGetProperty("process_error", out _), Is.False, "only a failed process has one");
        Assert.That((await Server.GetProcessAsync(id, token)).Str("status"), Is.EqualTo("completed"));
    }

    [Test]
    public async Task Cancel_is_200_then_409_the_second_time()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var first = await Server.PostAsync($"/api/processes/{id}/cancel", token, null);
        var second = await Server.PostAsync($"/api/processes/{id}/cancel", token, null);

        Assert.That(first.Status, Is.EqualTo(200), first.ToString());
        Assert.That(first.Json.Str("status"), Is.EqualTo("cancelled"));
        Assert.That(second.Status, Is.EqualTo(409), second.ToString());
        Assert.That(second.ErrorCode, Is.EqualTo("conflict"));
        Assert.That(second.Json.GetProperty("cancel_requested").GetBoolean(), Is.True);
        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.Str("status"), Is.EqualTo("cancelled"));
        Assert.That(process.Long("seq"), Is.EqualTo(2));
    }

    [Test]
    public async Task Cancel_fires_the_producers_cancellation()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        var handle = Server.App.Producer.Find(id)!;

        await Server.PostAsync($"/api/processes/{id}/cancel", token, null);

        Assert.That(handle.CancellationToken.IsCancellationRequested, Is.True);
    }

    [Test]
    public async Task Cancel_of_another_users_process_is_403_and_an_admin_may()
    {
        var (_, aliceToken) = NewUser();
        var (_, malloryToken) = NewUser();
        var (_, adminToken) = NewUser("admin");
        string id = await Server.CreateAsync(aliceToken);

        var forbidden = await Server.PostAsync($"/api/processes/{id}/cancel", malloryToken, null);
        var allowed = await Server.PostAsync($"/api/processes/{id}/cancel", adminToken, null);

        Assert.That(forbidden.Status, Is.EqualTo(403), forbidden.ToString());
        Assert.That(allowed.Status, Is.EqualTo(200), allowed.ToString());
        Assert.That((await Server.GetProcessAsync(id, aliceToken)).Str("status"), Is.EqualTo("cancelled"));
    }

    [Test]
    public async Task Cancel_of_an_unknown_process_is_404()
    {
        var (_, token) = NewUser();

        var reply = await Server.PostAsync("/api/processes/nope/cancel", token, null);

        Assert.That(reply.Status, Is.EqualTo(404), reply.ToString());
    }
}
