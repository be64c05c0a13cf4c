using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>POST /api/processes (docs/protocol.md section 1) and the Bearer check every /api/* call shares.</summary>
[TestFixture]
[Category("socket")]
internal sealed class CreateProcessTests : ApiFixture
{
    [Test]
    public async Task Create_returns_201_with_an_id_and_the_process_starts_running()
    {
        var (alice, token) = NewUser();

        var reply = await Server.PostAsync("/api/processes", token, """{"process_type":"export","total":7,"params":{"file":"a.csv"}}""");

        Assert.That(reply.Status, Is.EqualTo(201), reply.ToString());
        Assert.That(reply.Header("Content-Type"), Does.StartWith("application/json"));
        Assert.That(Json.Keys(reply.Json), Is.EqualTo(new[] { "process_id" }));
        string id = reply.Json.Str("process_id");
        Assert.That(id, Is.Not.Empty);

        var process = await Server.GetProcessAsync(id, token);
        Assert.Multiple(() =>
        {
            Assert.That(process.Str("process_id"), Is.EqualTo(id));
            Assert.That(process.Str("process_type"), Is.EqualTo("export"));
            Assert.That(process.Str("status"), Is.EqualTo("running"));
            Assert.That(process.Str("owner"), Is.EqualTo(alice));
            Assert.That(Json.DeepEquals(process.GetProperty("progress"), """{"current":0,"total":7}"""), Is.True, process.ToString());
            Assert.That(process.Long("seq"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Create_without_total_starts_at_zero_of_zero()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "import" });

        var process = await Server.GetProcessAsync(id, token);

        Assert.That(Json.DeepEquals(process.GetProperty("progress"), """{"current":0,"total":0}"""), Is.True, process.ToString());
    }

    [TestCase("{\"total\":3}", "process_type is required (a string of at most 64 characters)")]
    [TestCase("{\"process_type\":\"x\",\"total\":-1}", "total must be an integer from 0 to 9223372036854775807")]
    [TestCase("{\"process_type\":\"x\",\"total\":1.5}", "total must be an integer from 0 to 9223372036854775807")]
    [TestCase("{\"process_type\":\"x\",\"total\":3.0}", "total must be an integer from 0 to 9223372036854775807 (3.0 has a decimal point or an exponent: send 3)")]
    [TestCase("{\"process_type\":\"x\",\"total\":1e3}", "total must be an integer from 0 to 9223372036854775807 (1e3 has a decimal point or an exponent: send 1000)")]
    [TestCase("{\"process_type\":\"x\",\"total\":3.0000000000000000001}", "total must be an integer from 0 to 9223372036854775807")]
    [TestCase("{\"process_type\":\"x\",\"total\":9223372036854775807.0}", "total must be an integer from 0 to 9223372036854775807 (9223372036854775807.0 has a decimal point or an exponent: send 9223372036854775807)")]
    public async Task A_bad_start_is_told_exactly_what_to_send(string body, string message)
    {
        var (_, token) = NewUser();

        var reply = await Server.PostAsync("/api/processes", token, body);

        Assert.That((reply.Status, reply.ErrorMessage), Is.EqualTo((400, message)), reply.ToString());
    }

    [TestCase(257)]
    [TestCase(5000)]
    public async Task A_body_nested_far_deeper_than_the_limit_is_told_so_not_malformed(int depth)
    {
        // Past 256 levels the look that tells nesting from a syntax error gave up and said "malformed JSON".
        var (_, token) = NewUser();

        var reply = await Server.PostAsync("/api/processes", token, $$"""{"process_type":"x","params":{{new string('[', depth - 1)}}{{new string(']', depth - 1)}}}""");

        Assert.That((reply.Status, reply.ErrorMessage), Is.EqualTo((400, "the body may nest at most 32 levels of objects and arrays")), reply.ToString());
    }

    [Test]
    public async Task A_total_past_32_bits_starts_as_a_progress_total_would()
    {
        // A worker counting bytes starts with its file's size: 3 GiB did not fit the int the start used to take.
        var (_, token) = NewUser();

        string id = await Server.CreateAsync(token, new { process_type = "upload", total = 3L << 30 });

        var process = await Server.GetProcessAsync(id, token);
        Assert.That(Json.DeepEquals(process.GetProperty("progress"), """{"current":0,"total":3221225472}"""), Is.True, process.ToString());
    }

    [TestCase("{\"process_type\":", TestName = "Create_400_malformed_JSON")]
    [TestCase("", TestName = "Create_400_empty_body")]
    [TestCase("[1,2]", TestName = "Create_400_body_not_an_object")]
    [TestCase("{\"total\":3}", TestName = "Create_400_missing_process_type")]
    [TestCase("{\"process_type\":\"export\\ud800\"}", TestName = "Create_400_a_lone_surrogate_in_process_type")]
    [TestCase("{\"process_type\":\"export\",\"params\":{\"prompt\":\"\\udfff\"}}", TestName = "Create_400_a_lone_surrogate_in_params")]
    [TestCase("{\"process_type\":\"\"}", TestName = "Create_400_empty_process_type")]
    [TestCase("{\"process_type\":42}", TestName = "Create_400_process_type_not_a_string")]
    [TestCase("{\"process_type\":\"x\",\"total\":-1}", TestName = "Create_400_negative_total")]
    [TestCase("{\"process_type\":\"x\",\"total\":\"3\"}", TestName = "Create_400_total_a_string")]
    [TestCase("{\"process_type\":\"x\",\"total\":1.5}", TestName = "Create_400_total_not_an_integer")]
    [TestCase("{\"process_type\":\"x\",\"total\":9223372036854775808}", TestName = "Create_400_total_too_large")]
    [TestCase("{\"process_type\":\"x\",\"owner\":7}", TestName = "Create_400_owner_not_a_string")]
    public async Task Create_rejects_a_bad_body_with_400(string body)
    {
        var (alice, token) = NewUser();

        var reply = await Server.PostAsync("/api/processes", token, body);

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("bad_request"));
        Assert.That(reply.Json.GetProperty("error").Str("message"), Is.Not.Empty);
        var list = await Server.GetAsync("/api/processes", token);
        Assert.That(list.Json.GetProperty("processes").GetArrayLength(), Is.Zero, $"{alice} must have no process after a 400");
    }

    [Test]
    public async Task Names_are_limited_in_characters_so_an_emoji_counts_once()
    {
        var (_, token) = NewUser();
        string rocket = "\U0001F680"; // two UTF-16 code units, one character
        string sixtyFour = string.Concat(Enumerable.Repeat(rocket, 64));

        var longest = await Server.PostJsonAsync("/api/processes", token, new { process_type = sixtyFour });
        var tooLong = await Server.PostJsonAsync("/api/processes", token, new { process_type = sixtyFour + rocket });
        var failed = await Server.PostJsonAsync($"/api/processes/{longest.Json.Str("process_id")}/fail", token, new { error = new { message = "m", code = sixtyFour } });
        var benchmark = await Server.PostJsonAsync("/api/benchmark", token, new { models = new[] { string.Concat(Enumerable.Repeat(rocket, 100)) }, contexts = new[] { "1K" }, runs = 1, step_ms = 60_000 });

        Assert.That(longest.Status, Is.EqualTo(201), longest.ToString());
        Assert.That(tooLong.Status, Is.EqualTo(400), tooLong.ToString());
        Assert.That(tooLong.ErrorMessage, Is.EqualTo("process_type must be at most 64 characters"), "it was there: not \"required\"");
        Assert.That(failed.Status, Is.EqualTo(200), "an error.code of 64 emoji: " + failed);
        Assert.That(benchmark.Status, Is.EqualTo(202), "a model name of 100 emoji: " + benchmark);
    }

    [Test]
    public async Task Missing_token_is_401_with_a_Bearer_challenge()
    {
        var reply = await Server.PostAsync("/api/processes", token: null, """{"process_type":"x"}""");

        AssertUnauthorized(reply);
    }

    [TestCase("Basic YWxpY2U6c2VjcmV0", TestName = "Unauthorized_401_basic_scheme")]
    [TestCase("Bearer", TestName = "Unauthorized_401_bearer_without_token")]
    [TestCase("Bearer not-a-jwt", TestName = "Unauthorized_401_garbage_token")]
    public async Task A_bad_Authorization_header_is_401(string authorization)
    {
        var reply = await Server.PostAsync("/api/processes", token: null, """{"process_type":"x"}""", ("Authorization", authorization));

        AssertUnauthorized(reply);
    }

    [Test]
    public async Task A_token_signed_with_another_secret_is_401()
    {
        var reply = await Server.PostAsync("/api/processes", ForeignToken("alice"), """{"process_type":"x"}""");

        AssertUnauthorized(reply);
        Assert.That(reply.Json.GetProperty("error").Str("message"), Is.EqualTo("invalid token"));
    }

    [Test]
    public async Task An_expired_token_is_401_token_expired()
    {
        var reply = await Server.PostAsync("/api/processes", ExpiredToken("alice"), """{"process_type":"x"}""");

        AssertUnauthorized(reply);
        Assert.That(reply.Json.GetProperty("error").Str("message"), Is.EqualTo("token expired"));
    }

    [Test]
    public async Task A_non_producer_may_not_start_a_process_for_another_owner()
    {
        var (_, token) = NewUser();
        var (bob, bobToken) = NewUser();

        var reply = await Server.PostJsonAsync("/api/processes", token, new { process_type = "export", owner = bob });

        Assert.That(reply.Status, Is.EqualTo(403), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("forbidden"));
        var bobsList = await Server.GetAsync("/api/processes", bobToken);
        Assert.That(bobsList.Json.GetProperty("processes").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task A_non_producer_may_name_itself_as_owner()
    {
        var (alice, token) = NewUser();

        string id = await Server.CreateAsync(token, new { process_type = "export", owner = alice });

        Assert.That((await Server.GetProcessAsync(id, token)).Str("owner"), Is.EqualTo(alice));
    }

    [Test]
    public async Task A_producer_starts_a_process_for_another_owner_who_then_sees_it()
    {
        var (_, workerToken) = NewUser("producer");
        var (bob, bobToken) = NewUser();

        string id = await Server.CreateAsync(workerToken, new { process_type = "export", owner = bob, total = 2 });

        var list = await Server.GetAsync("/api/processes", bobToken);
        var processes = list.Json.GetProperty("processes").EnumerateArray().ToList();
        Assert.That(processes.Select(p => p.Str("process_id")), Is.EqualTo(new[] { id }));
        Assert.That(processes[0].Str("owner"), Is.EqualTo(bob));
    }

    private static void AssertUnauthorized(HttpReply reply)
    {
        Assert.Multiple(() =>
        {
            Assert.That(reply.Status, Is.EqualTo(401), reply.ToString());
            Assert.That(reply.Header("WWW-Authenticate"), Is.EqualTo("Bearer"));
            Assert.That(reply.Header("Content-Type"), Does.StartWith("application/json"));
            Assert.That(reply.ErrorCode, Is.EqualTo("unauthorized"));
        });
    }

    /// <summary>A well-formed HS256 token the server did not sign.</summary>
    internal static string ForeignToken(string subject) => CreateToken(subject, "some other secret that is also long enough", DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(10));

    internal static string ExpiredToken(string subject) => CreateToken(subject, HubTestHost.Secret, DateTime.UtcNow.AddMinutes(-10), DateTime.UtcNow.AddMinutes(-5));

    private static string CreateToken(string subject, string secret, DateTime notBefore, DateTime expires) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = subject },
            IssuedAt = notBefore,
            NotBefore = notBefore,
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });
}
