using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>POST /api/processes/{id}/progress: the body is the progress object (docs/protocol.md sections 1 and 3).</summary>
[TestFixture]
[Category("socket")]
internal sealed class ProgressTests : ApiFixture
{
    [Test]
    public async Task Progress_is_200_with_cancel_requested_false_and_is_kept_verbatim()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        const string progress = """{"current":2,"total":3,"model":"GPT-4o","detail":"Run 1/3, Context 5K","eta_s":12.5,"tags":["a","b"]}""";

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, progress);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(reply.Text, Is.EqualTo("""{"cancel_requested":false}"""));
        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.GetProperty("progress").GetRawText(), Is.EqualTo(progress));
        Assert.That(process.Long("seq"), Is.EqualTo(2));
    }

    [Test]
    public async Task A_surrogate_pair_in_escapes_is_valid_text_and_kept()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        const string progress = """{"current":1,"total":3,"detail":"rocket \ud83d\ude80 \u00e9"}""";

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, progress);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That((await Server.GetProcessAsync(id, token)).GetProperty("progress").GetProperty("detail").GetString(), Is.EqualTo("rocket 🚀 é"));
    }

    [Test]
    public async Task Every_report_takes_the_next_seq()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 5 });

        for (int i = 1; i <= 5; i++)
        {
            var reply = await Server.PostJsonAsync($"/api/processes/{id}/progress", token, new { current = i, total = 5 });
            Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        }

        Assert.That((await Server.GetProcessAsync(id, token)).Long("seq"), Is.EqualTo(6));
    }

    [TestCase("""{"total":3}""", TestName = "Progress_400_missing_current")]
    [TestCase("""{"current":1}""", TestName = "Progress_400_missing_total")]
    [TestCase("""{"current":"1","total":3}""", TestName = "Progress_400_current_a_string")]
    [TestCase("""{"current":-1,"total":3}""", TestName = "Progress_400_negative_current")]
    [TestCase("""{"current":1.5,"total":3}""", TestName = "Progress_400_fractional_current")]
    [TestCase("""[1,3]""", TestName = "Progress_400_an_array")]
    [TestCase("""42""", TestName = "Progress_400_a_number")]
    [TestCase("""null""", TestName = "Progress_400_null")]
    [TestCase("""{"current":1,"total":3,"detail":"cut inside an emoji \ud83d"}""", TestName = "Progress_400_a_lone_high_surrogate")]
    [TestCase("""{"current":1,"total":3,"model":"\ude00"}""", TestName = "Progress_400_a_lone_low_surrogate")]
    [TestCase("""{"current":1,"total":3,"tags":{"\ud83dx":1}}""", TestName = "Progress_400_a_lone_surrogate_in_a_name")]
    [TestCase("", TestName = "Progress_400_empty_body")]
    [TestCase("""{"current":1,""", TestName = "Progress_400_malformed_JSON")]
    public async Task Bad_progress_is_400_and_changes_nothing(string body)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, body);

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("bad_request"));
        Assert.That((await Server.GetProcessAsync(id, token)).Long("seq"), Is.EqualTo(1));
    }

    [TestCase("""{"total":3}""", "progress.current is required: an integer from 0 to 9223372036854775807")]
    [TestCase("""{"current":-1,"total":3}""", "progress.current must be an integer from 0 to 9223372036854775807")]
    [TestCase("""{"current":2,"total":3.0}""", "progress.total must be an integer from 0 to 9223372036854775807 (3.0 has a decimal point or an exponent: send 3)")]
    [TestCase("""{"current":2.50,"total":3}""", "progress.current must be an integer from 0 to 9223372036854775807")]
    public async Task Bad_progress_is_told_exactly_what_to_send(string body, string message)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, body);

        Assert.That((reply.Status, reply.ErrorMessage), Is.EqualTo((400, message)), reply.ToString());
    }

    [Test]
    public async Task Progress_over_4_KiB_is_400_and_4_KiB_exactly_is_accepted()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        string Padded(int size)
        {
            const string prefix = "{\"current\":1,\"total\":3,\"detail\":\"";
            const string suffix = "\"}";
            return prefix + new string('x', size - prefix.Length - suffix.Length) + suffix;
        }

        var tooLarge = await Server.PostAsync($"/api/processes/{id}/progress", token, Padded(4 * 1024 + 1));
        var largest = await Server.PostAsync($"/api/processes/{id}/progress", token, Padded(4 * 1024));

        Assert.That(tooLarge.Status, Is.EqualTo(400), tooLarge.ToString());
        Assert.That(tooLarge.ErrorCode, Is.EqualTo("bad_request"));
        Assert.That(tooLarge.Json.GetProperty("error").Str("message"), Does.Contain("larger than"));
        Assert.That(largest.Status, Is.EqualTo(200), largest.ToString());
    }

    [Test]
    public async Task Another_users_process_is_403_for_a_non_producer()
    {
        var (_, aliceToken) = NewUser();
        var (_, malloryToken) = NewUser();
        string id = await Server.CreateAsync(aliceToken);

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", malloryToken, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(403), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("forbidden"));
        Assert.That((await Server.GetProcessAsync(id, aliceToken)).Long("seq"), Is.EqualTo(1));
    }

    [Test]
    public async Task An_admin_without_the_producer_role_may_not_drive_another_users_process()
    {
        var (_, aliceToken) = NewUser();
        var (_, adminToken) = NewUser("admin");
        string id = await Server.CreateAsync(aliceToken);

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", adminToken, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(403), reply.ToString());
        Assert.That(reply.ErrorMessage, Is.EqualTo(ProcessesApiAdminMessage), "an admin sees the process: 'not your process' told it nothing");
    }

    [Test]
    public async Task An_admin_that_started_a_process_for_another_owner_is_told_it_needs_the_producer_role_to_drive_it()
    {
        // An admin may create for another owner (1.4.9) and then cannot report on what it created: an audit's worker
        // got 'not your process' for the process it had just started, which it could see, and left it to go stale.
        var (_, adminToken) = NewUser("admin");
        var created = await Server.PostJsonAsync("/api/processes", adminToken, new { process_type = "export", owner = "zed" });
        string id = created.Json.Str("process_id")!;

        var reply = await Server.PostAsync($"/api/processes/{id}/complete", adminToken, "{}");

        Assert.That((created.Status, reply.Status, reply.ErrorMessage), Is.EqualTo((201, 403, ProcessesApiAdminMessage)), reply.ToString());
    }

    private const string ProcessesApiAdminMessage =
        "an admin may view and cancel any process, not drive it: progress, complete and fail need its owner or role producer";

    [Test]
    public async Task A_producer_may_drive_another_users_process()
    {
        var (_, aliceToken) = NewUser();
        var (_, workerToken) = NewUser("producer");
        string id = await Server.CreateAsync(aliceToken);

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", workerToken, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
    }

    [Test]
    public async Task An_unknown_process_is_404()
    {
        var (_, token) = NewUser();

        var reply = await Server.PostAsync("/api/processes/0123456789abcdef/progress", token, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(404), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("not_found"));
    }

    [Test]
    public async Task Progress_after_complete_is_409_without_cancel_requested()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        Assert.That((await Server.PostAsync($"/api/processes/{id}/complete", token, "{}")).Status, Is.EqualTo(200));

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(409), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("conflict"));
        Assert.That(reply.Json.GetProperty("cancel_requested").GetBoolean(), Is.False);
        Assert.That(reply.Json.Str("status"), Is.EqualTo("completed"));
    }

    [Test]
    public async Task Progress_after_a_cancel_is_409_with_cancel_requested_true()
    {
        var (_, token) = NewUser();
        var (_, workerToken) = NewUser("producer");
        string id = await Server.CreateAsync(token);
        Assert.That((await Server.PostAsync($"/api/processes/{id}/cancel", token, null)).Status, Is.EqualTo(200));

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", workerToken, """{"current":1,"total":3}""");

        Assert.That(reply.Status, Is.EqualTo(409), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("conflict"));
        Assert.That(reply.Json.GetProperty("cancel_requested").GetBoolean(), Is.True);
        Assert.That(reply.Json.Str("status"), Is.EqualTo("cancelled"));
    }
}
