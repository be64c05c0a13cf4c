using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Api;

/// <summary>
/// Dev mode's <c>GET /api/dev-token</c>: the banner's <c>dev</c> token by default, a token for any other user with
/// <c>?user=NAME</c> (and <c>&amp;role=admin</c>), a 400 for a name or role it will not sign, and nothing at all
/// unless dev mode turned it on.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class DevTokenTests
{
    private HubApplication _app = null!;
    private string _devToken = null!;

    [OneTimeSetUp]
    public void StartHub()
    {
        _app = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            new HubOptions(),
            new JwtSettings { Secret = HubTestHost.Secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance);
        _devToken = _app.Tokens.Issue("dev", [], TimeSpan.FromHours(24)); // as the banner's
        _app.EnableDevToken(_devToken);
        _app.Start();
    }

    [OneTimeTearDown]
    public async Task StopHub() => await _app.DisposeAsync();

    [Test]
    public async Task Without_a_user_it_is_the_banners_dev_token()
    {
        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, "/api/dev-token");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(reply.Json.Str("user"), Is.EqualTo("dev"));
        Assert.That(reply.Json.Str("token"), Is.EqualTo(_devToken));
        Assert.That(reply.Json.GetProperty("roles").GetArrayLength(), Is.Zero);
        Assert.That(reply.Header("Cache-Control"), Is.EqualTo("no-store"));
    }

    [Test]
    public async Task A_banner_token_with_less_than_an_hour_left_is_replaced_by_a_fresh_one_for_dev()
    {
        // A dev run up for a day: handing out the banner's token again would give every tab a token refused at once.
        await using var app = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            new HubOptions(),
            new JwtSettings { Secret = HubTestHost.Secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance);
        string ending = app.Tokens.Issue("dev", [], TimeSpan.FromMinutes(59));
        app.EnableDevToken(ending);
        app.Start();

        var reply = await RawHttpClient.GetAsync(app.LocalEndPoint, "/api/dev-token");
        string token = reply.Json.Str("token");
        var validated = app.Tokens.Validate(token);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(token, Is.Not.EqualTo(ending));
        Assert.That(validated.Identity?.Subject, Is.EqualTo("dev"), validated.FailureReason);
        Assert.That(validated.Identity!.ExpiresAt, Is.GreaterThan(DateTimeOffset.UtcNow + TimeSpan.FromHours(23)), "a fresh token lives the dev mode's day");
    }

    [Test]
    public async Task A_token_for_another_user_sees_that_users_processes_only()
    {
        var alicesRun = _app.Producer.Start("export", "alice", total: 1);
        var devsRun = _app.Producer.Start("export", "dev", total: 1);

        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, "/api/dev-token?user=alice");
        string token = reply.Json.Str("token");
        var identity = _app.Tokens.Validate(token).Identity!;
        var list = await RawHttpClient.GetAsync(_app.LocalEndPoint, "/api/processes", token);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(reply.Json.Str("user"), Is.EqualTo("alice"));
        Assert.That(identity, Is.EqualTo(identity with { Subject = "alice", IsAdmin = false, IsProducer = false }));
        var ids = list.Json.GetProperty("processes").EnumerateArray().Select(p => p.Str("process_id")).ToList();
        Assert.That(ids, Does.Contain(alicesRun.ProcessId).And.Not.Contain(devsRun.ProcessId));
    }

    [TestCase("admin", true, false)]
    [TestCase("producer", false, true)]
    [TestCase("", false, false)]
    public async Task A_role_can_be_asked_for(string role, bool admin, bool producer)
    {
        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, $"/api/dev-token?user=bob&role={role}");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        var identity = _app.Tokens.Validate(reply.Json.Str("token")).Identity!;
        Assert.That((identity.Subject, identity.IsAdmin, identity.IsProducer), Is.EqualTo(("bob", admin, producer)));
        Assert.That(reply.Json.GetProperty("roles").EnumerateArray().Select(r => r.GetString()), Is.EqualTo(role.Length == 0 ? Array.Empty<string>() : new[] { role }));
    }

    [TestCase("admin,producer")]
    [TestCase("producer%2Cadmin")]
    [TestCase("admin,producer,admin")]
    public async Task Both_roles_can_be_asked_for_comma_separated(string role)
    {
        // An admin drives processes only with the producer role too: dev mode could not hand out such a token.
        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, $"/api/dev-token?user=bob&role={role}");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        var identity = _app.Tokens.Validate(reply.Json.Str("token")).Identity!;
        Assert.That((identity.IsAdmin, identity.IsProducer), Is.EqualTo((true, true)));
        Assert.That(reply.Json.GetProperty("roles").GetArrayLength(), Is.EqualTo(2), reply.ToString());
    }

    [Test]
    public async Task A_role_given_twice_is_told_how_to_give_both()
    {
        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, "/api/dev-token?user=bob&role=admin&role=producer");

        Assert.That((reply.Status, reply.ErrorMessage), Is.EqualTo((400, "the query gives role more than once: give several roles as one, comma-separated (role=admin,producer)")), reply.ToString());
    }

    [Test]
    public async Task The_dev_user_with_the_admin_role_is_a_fresh_token_not_the_banners()
    {
        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, "/api/dev-token?user=dev&role=admin");

        Assert.That(reply.Json.Str("token"), Is.Not.EqualTo(_devToken));
        Assert.That(_app.Tokens.Validate(reply.Json.Str("token")).Identity!.IsAdmin, Is.True);
    }

    [TestCase("user=")]
    [TestCase("user=al%20ice")]
    [TestCase("user=..%2Fetc")]
    [TestCase("user=-alice")]
    [TestCase("user=%C3%A9lise")]
    [TestCase("user=alice%0A")]
    [TestCase("user=a%22b")]
    [TestCase("user=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [TestCase("user=alice&role=root")]
    [TestCase("user=alice&role=Admin")]
    [TestCase("user=alice&role=admin,root")]
    public async Task A_name_or_role_it_will_not_sign_is_400(string query)
    {
        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, "/api/dev-token?" + query);

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("bad_request"));
        Assert.That(reply.Text, Does.Not.Contain("token\""));
    }

    [Test]
    public async Task Sixty_four_characters_and_the_allowed_punctuation_are_fine()
    {
        string name = "a" + new string('b', 59) + "._-@";

        var reply = await RawHttpClient.GetAsync(_app.LocalEndPoint, $"/api/dev-token?user={Uri.EscapeDataString(name)}");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(_app.Tokens.Validate(reply.Json.Str("token")).Identity!.Subject, Is.EqualTo(name));
    }

    [Test]
    public async Task Without_dev_mode_there_is_no_dev_token_for_anyone()
    {
        await using var server = HubTestHost.Start();

        foreach (var path in new[] { "/api/dev-token", "/api/dev-token?user=alice", "/api/dev-token?user=alice&role=admin" })
        {
            var reply = await RawHttpClient.GetAsync(server.EndPoint, path);
            Assert.That(reply.Status, Is.EqualTo(404), path + ": " + reply);
        }
    }

    [Test]
    public async Task The_page_says_whether_dev_tokens_are_handed_out_and_each_form_has_its_own_etag()
    {
        await using var server = HubTestHost.Start();

        var withDevTokens = await RawHttpClient.GetAsync(_app.LocalEndPoint, "/");
        var without = await RawHttpClient.GetAsync(server.EndPoint, "/");

        Assert.That(withDevTokens.Text, Does.Contain("""<meta name="processhub-dev-tokens" content="on">"""));
        Assert.That(without.Text, Does.Contain("""<meta name="processhub-dev-tokens" content="off">"""));
        // A browser that kept one form revalidates into the other after a restart that changed the mode.
        Assert.That(withDevTokens.Header("ETag"), Is.Not.EqualTo(without.Header("ETag")));
    }
}
