using System.Security.Cryptography;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// docs/protocol.md section 2: every way in, every way to be refused (4401 with a short reason, after a completed upgrade,
/// with nothing sent before the close), refresh and expiry. Reasons are the ones TokenValidator and
/// SessionAuthenticator send.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class AuthenticationTests
{
    private const string Issuer = "processhub-tests";
    private const string Audience = "processhub";
    private const string OtherSecret = "not-the-hub-secret-0123456789abcdef-0123456789";

    // Generating a 2048-bit key costs real CPU time: one serves every test that needs an RSA key.
    private static readonly Lazy<RSA> RsaKey = new(() => RSA.Create(2048));

    private static readonly JwtSettings StrictJwt = new()
    {
        Secret = HubTestHost.Secret,
        Issuer = Issuer,
        Audience = Audience,
        ClockSkew = TimeSpan.Zero,
    };

    public static IEnumerable<TestCaseData> Rejections()
    {
        var hub = TestTokens.Hs256(HubTestHost.Secret);
        var cases = new (string Name, Func<string> Token, string Reason)[]
        {
            ("bad signature", () => TestTokens.Create(TestTokens.Hs256(OtherSecret), issuer: Issuer, audience: Audience), "invalid token"),
            ("wrong issuer", () => TestTokens.Create(hub, issuer: "someone-else", audience: Audience), "invalid issuer"),
            ("wrong audience", () => TestTokens.Create(hub, issuer: Issuer, audience: "another-app"), "invalid audience"),
            ("expired", () => TestTokens.Create(hub, issuer: Issuer, audience: Audience, notBefore: DateTime.UtcNow.AddHours(-2), expires: DateTime.UtcNow.AddHours(-1)), "token expired"),
            ("not yet valid", () => TestTokens.Create(hub, issuer: Issuer, audience: Audience, notBefore: DateTime.UtcNow.AddHours(1), expires: DateTime.UtcNow.AddHours(2)), "token not yet valid"),
            ("alg none", () => TestTokens.Unsigned("alice"), "invalid token"),
            ("RS256 from an unknown key", () => TestTokens.Create(TestTokens.Rs256(RsaKey.Value), issuer: Issuer, audience: Audience), "invalid token"),
            ("not a JWT", () => "definitely.not.a-jwt", "invalid token"),
            // HS256's 32-byte signature is 43 base64url characters: one '=' makes it the padded spelling of the same bytes.
            ("a signature with base64 padding", () => TestTokens.Create(hub, issuer: Issuer, audience: Audience) + "=", "invalid token"),
            ("no sub", () => TestTokens.Create(hub, subject: null, issuer: Issuer, audience: Audience), "token has no sub"),
            // A sub of white space only made processes owned by "  ", an owner the API refuses (found by an audit).
            ("a sub of white space only", () => TestTokens.Create(hub, subject: " \t ", issuer: Issuer, audience: Audience), "token has no sub"),
            ("an unknown crit header", () => Raw(Hs256Header("\"crit\":[\"x-unknown\"],\"x-unknown\":1"), TestTokens.Payload(issuer: Issuer, audience: Audience)), "invalid token"),
            ("a crit header naming a registered claim", () => Raw(Hs256Header("\"crit\":[\"exp\"]"), TestTokens.Payload(issuer: Issuer, audience: Audience)), "invalid token"),
            ("an empty crit header", () => Raw(Hs256Header("\"crit\":[]"), TestTokens.Payload(issuer: Issuer, audience: Audience)), "invalid token"),
            ("exp as a string", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience, exp: $"\"{DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeSeconds()}\"")), "invalid token"),
            ("nbf as a string", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience, nbf: $"\"{DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds()}\"")), "invalid token"),
            ("iat as a string", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience, iat: $"\"{DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds()}\"")), "invalid token"),
            ("sub as a number", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience).Replace("\"sub\":\"alice\"", "\"sub\":42", StringComparison.Ordinal)), "invalid token"),
            ("exp as true", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience, exp: "true")), "invalid token"),
            ("a sub of 257 bytes", () => TestTokens.Create(hub, subject: new string('s', 257), issuer: Issuer, audience: Audience), "invalid token"),
            ("a sub of 10 KB", () => TestTokens.Create(hub, subject: new string('s', 10 * 1024), issuer: Issuer, audience: Audience), "invalid token"),
            ("a sub of 129 two-byte characters", () => TestTokens.Create(hub, subject: new string('\u00e9', 129), issuer: Issuer, audience: Audience), "invalid token"),
            // A claim named twice has no one reading (found by an audit: the last sub won, and a past exp then a future one passed).
            ("sub named twice", () => Raw(Hs256Header(), TestTokens.Payload("bob", Issuer, Audience, extra: ",\"sub\":\"alice\"")), "invalid token"),
            ("exp named twice", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience, extra: $",\"exp\":{DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds()}")), "invalid token"),
            ("a past exp then a future one", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience, exp: DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), extra: $",\"exp\":{DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds()}")), "invalid token"),
            ("a claim named twice, once escaped", () => Raw(Hs256Header(), TestTokens.Payload(issuer: Issuer, audience: Audience, extra: ",\"x\":1,\"\\u0078\":2")), "invalid token"),
        };
        foreach (var (name, token, reason) in cases)
        {
            foreach (var path in Enum.GetValues<TokenPath>())
            {
                yield return new TestCaseData(path, token, reason).SetName($"Rejected_{name.Replace(' ', '_')}_via_{path}");
            }
        }
    }

    private static string Hs256Header(string extraMembers = "") =>
        "{\"alg\":\"HS256\",\"typ\":\"JWT\"" + (extraMembers.Length > 0 ? "," + extraMembers : string.Empty) + "}";

    private static string Raw(string header, string payload) => TestTokens.SignedRaw(HubTestHost.Secret, header, payload);

    [Test]
    public async Task A_hand_signed_token_with_numeric_times_and_a_256_byte_sub_is_accepted()
    {
        // The control for the rejections above: the same hand-made token, with every claim of the right type.
        await using var host = HubTestHost.Start(jwt: StrictJwt);
        string subject = new('s', 256);
        await using var client = await ConnectAsync(host, TokenPath.Query, Raw(Hs256Header(), TestTokens.Payload(subject, Issuer, Audience)));

        Assert.That((await client.ReceiveAsync()).Type, Is.EqualTo("process_list"));
    }

    public static IEnumerable<TestCaseData> RoleClaims()
    {
        TestCaseData Case(string claim, bool admin, string name) => new TestCaseData(claim, admin).SetName(name);
        yield return Case(",\"roles\":[\"admin\"]", true, "Roles_as_an_array_with_admin_grant_admin");
        yield return Case(",\"role\":\"admin\"", true, "Role_as_a_string_admin_grants_admin");
        yield return Case(",\"roles\":[\"viewer\",\"admin\"]", true, "Admin_anywhere_in_the_array_grants_admin");
        yield return Case(",\"role\":\"admin producer\"", false, "Role_admin_producer_as_one_string_is_one_unknown_role");
        yield return Case(",\"roles\":\"admin producer\"", false, "Roles_admin_producer_as_one_string_is_one_unknown_role");
        yield return Case(",\"roles\":[\"admin producer\"]", false, "An_array_element_admin_producer_is_one_unknown_role");
        yield return Case(",\"roles\":[\"Admin\"]", false, "Roles_are_compared_exactly_Admin_is_not_admin");
        yield return Case(",\"roles\":[\" admin\"]", false, "Roles_are_compared_exactly_a_space_is_not_trimmed");
        yield return Case(",\"roles\":[[\"admin\"]]", false, "A_nested_array_is_not_a_role");
        yield return Case(",\"roles\":{\"admin\":true}", false, "An_object_is_not_a_role");
        // "An array of strings": one with anything else in it grants nothing (it granted admin, found by an audit).
        yield return Case(",\"roles\":[1,\"admin\"]", false, "An_array_with_a_number_in_it_grants_no_role");
        yield return Case(",\"roles\":[\"admin\",{\"x\":1}]", false, "An_array_with_an_object_in_it_grants_no_role");
        yield return Case(",\"role\":[null,\"admin\"]", false, "An_array_with_null_in_it_grants_no_role");
        yield return Case(",\"roles\":[1],\"role\":\"admin\"", true, "A_well_formed_role_claim_counts_beside_a_malformed_roles_claim");
        yield return Case(",\"roles\":[\"\\u0061dmin\"]", true, "An_escaped_role_is_read_unescaped");
    }

    [TestCaseSource(nameof(RoleClaims))]
    public async Task Roles_are_read_as_whole_strings(string roleMembers, bool admin)
    {
        // docs/protocol.md section 2: `role` or `roles`, a string or an array of strings, each string one role.
        await using var host = HubTestHost.Start(jwt: StrictJwt);
        var bobs = host.App.Producer.Start("benchmark", "bob");
        string token = Raw(Hs256Header(), TestTokens.Payload("carol", Issuer, Audience, extra: roleMembers));
        await using var client = await ConnectAsync(host, TokenPath.Query, token);

        var list = await client.ReceiveAsync();

        Assert.That(list.Type, Is.EqualTo("process_list"), list.ToString());
        Assert.That(list.Get("processes").GetArrayLength(), Is.EqualTo(admin ? 1 : 0), admin ? "an admin sees bob's process" : "not an admin: bob's process is hidden");
    }

    [TestCaseSource(nameof(Rejections))]
    public async Task A_bad_token_closes_with_4401_and_a_short_reason(TokenPath path, Func<string> makeToken, string reason)
    {
        await using var host = HubTestHost.Start(jwt: StrictJwt);
        string token = makeToken();
        await using var client = await ConnectAsync(host, path, token);

        var (status, description) = await client.ReceiveCloseAsync();

        Assert.That(status, Is.EqualTo(4401));
        Assert.That(description, Is.EqualTo(reason));
        Assert.That(description, Does.Not.Contain(token), "a reason never carries the token");
    }

    [TestCase(TokenPath.Query)]
    [TestCase(TokenPath.AuthorizationHeader)]
    [TestCase(TokenPath.AuthMessage)]
    public async Task A_valid_token_by_any_path_gets_process_list_first(TokenPath path)
    {
        await using var host = HubTestHost.Start(jwt: StrictJwt);
        var run = host.App.Producer.Start("benchmark", "alice", total: 3);
        string token = TestTokens.Create(TestTokens.Hs256(HubTestHost.Secret), "alice", Issuer, Audience);
        await using var client = await ConnectAsync(host, path, token);

        var first = await client.ReceiveAsync();

        Assert.That(first.Type, Is.EqualTo("process_list"));
        Assert.That(first.Get("processes")[0].GetProperty("process_id").GetString(), Is.EqualTo(run.ProcessId));
    }

    [Test]
    public async Task The_query_token_is_checked_before_the_header()
    {
        await using var host = HubTestHost.Start();
        string good = host.Token("alice");

        await using (var badQuery = await host.ConnectAsync(queryToken: "bad." + good, bearerToken: good))
        {
            Assert.That(await badQuery.ReceiveCloseAsync(), Is.EqualTo((4401, "invalid token")), "a bad query token is not rescued by a good header");
        }
        await using var goodQuery = await host.ConnectAsync(queryToken: good, bearerToken: "bad." + good);
        Assert.That((await goodQuery.ReceiveAsync()).Type, Is.EqualTo("process_list"));
    }

    [TestCase("", TestName = "An_empty_query_token_falls_through_to_the_Authorization_header")]
    [TestCase("%20", TestName = "A_blank_query_token_falls_through_to_the_Authorization_header")]
    public async Task An_empty_query_token_is_no_token(string rawQueryValue)
    {
        // `?token=` (a page that had no token to put there) must not hide the header a non-browser client sent.
        await using var host = HubTestHost.Start();
        string good = host.Token("alice");
        await using var client = await RawWebSocketClient.ConnectAsync(host.App.LocalEndPoint);

        var response = await client.HandshakeAsync($"/ws?token={rawQueryValue}", extraHeaderLines: $"Authorization: Bearer {good}");
        var first = await client.ReceiveFrameAsync();

        Assert.That(response.Status, Is.EqualTo(101), response.ToString());
        Assert.That(first.Opcode, Is.EqualTo(Opcodes.Text), first.ToString());
        Assert.That(first.Text, Does.StartWith("{\"type\":\"process_list\""), "authenticated by the header, not closed with 4401");
    }

    [Test]
    public async Task An_empty_query_token_and_no_header_waits_for_the_auth_message()
    {
        await using var host = HubTestHost.Start();
        await using var client = await RawWebSocketClient.ConnectAsync(host.App.LocalEndPoint);
        await client.HandshakeAsync("/ws?token=");

        await client.SendRawAsync(ClientFrame.Text($$"""{"type":"auth","token":"{{host.Token("alice")}}"}"""));
        var first = await client.ReceiveFrameAsync();

        Assert.That(first.Text, Does.StartWith("{\"type\":\"process_list\""), first.Text);
    }

    [Test]
    public async Task RS256_is_accepted_with_the_configured_public_key_and_HS256_signed_with_that_key_is_not()
    {
        var rsa = RsaKey.Value;
        string publicPem = rsa.ExportSubjectPublicKeyInfoPem();
        await using var host = HubTestHost.Start(jwt: new JwtSettings { PublicKeyPem = publicPem, ClockSkew = TimeSpan.Zero });

        // The control: a genuine RS256 token works, so the refusal below is about the algorithm, not the setup.
        await using (var genuine = await host.ConnectAsync(queryToken: TestTokens.Create(TestTokens.Rs256(rsa), "alice")))
        {
            Assert.That((await genuine.ReceiveAsync()).Type, Is.EqualTo("process_list"));
        }

        // Algorithm confusion: HS256 "signed" with the public key the server verifies RS256 with.
        await using var forged = await host.ConnectAsync(queryToken: TestTokens.HmacSignedWithPublicKey(publicPem, "alice"));
        Assert.That(await forged.ReceiveCloseAsync(), Is.EqualTo((4401, "invalid token")));
    }

    [Test]
    public async Task Ping_frames_before_the_auth_message_do_not_get_it_refused_for_rate()
    {
        // They take from the message budget; past it, the auth message itself got "rate_limited" (an error, which an
        // unauthenticated connection is never sent) and the connection died of its auth timeout.
        await using var host = HubTestHost.Start();
        await using var client = await RawWebSocketClient.ConnectAsync(host.App.LocalEndPoint);
        await client.HandshakeAsync("/ws");
        // 150 and the auth in one write, read in one go: the budget (100 a second, with a burst as large) cannot
        // refill between them.
        byte[] pings = Enumerable.Range(0, 150).SelectMany(_ => ClientFrame.Ping("p"u8)).ToArray();
        byte[] pingsThenAuth = [.. pings, .. ClientFrame.Text($$"""{"type":"auth","token":"{{host.Token("alice")}}"}""")];
        await client.SendRawAsync(pingsThenAuth);
        var skipped = new List<HubMessage>();
        var list = await client.ReceiveUntilAsync(m => m.Type is "process_list" or "error", skipped);

        Assert.That(list.Type, Is.EqualTo("process_list"), list.ToString());
    }

    [Test]
    public async Task ES256_is_accepted_with_a_P256_public_key()
    {
        using var ec = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        await using var host = HubTestHost.Start(jwt: new JwtSettings { PublicKeyPem = ec.ExportSubjectPublicKeyInfoPem(), ClockSkew = TimeSpan.Zero });

        await using var client = await host.ConnectAsync(queryToken: TestTokens.Create(TestTokens.Es256(ec), "alice"));

        Assert.That((await client.ReceiveAsync()).Type, Is.EqualTo("process_list"));
    }

    [Test]
    public async Task No_token_within_the_auth_timeout_closes_with_4401_auth_timeout()
    {
        await using var host = HubTestHost.Start(fakeTime: true);
        await using var client = await host.ConnectAsync();

        var close = await Eventually.CompletesAsync(host.Time!, client.ReceiveCloseAsync(), "the auth timeout", TimeSpan.FromSeconds(1));

        Assert.That(close, Is.EqualTo((4401, "auth timeout")));
    }

    [Test]
    public async Task A_token_that_never_expires_leaves_the_hubs_sweep_running()
    {
        // exp 9999-12-31T23:59:59Z is how issuers write "never". Plus the default clock skew it overflowed
        // DateTimeOffset in the sweep, which ended the sweep for good: no more auth timeouts, expiry or retention.
        await using var host = HubTestHost.Start(jwt: new JwtSettings { Secret = HubTestHost.Secret, ClockSkew = TimeSpan.FromSeconds(30) }, fakeTime: true);
        string forever = TestTokens.Create(TestTokens.Hs256(HubTestHost.Secret), "alice", expires: new DateTime(9999, 12, 31, 23, 59, 59, DateTimeKind.Utc));
        await using var tab = await host.ConnectAsync(queryToken: forever);
        Assert.That((await tab.ReceiveAsync()).Type, Is.EqualTo("process_list"));

        await using var silent = await host.ConnectAsync();
        var close = await Eventually.CompletesAsync(host.Time!, silent.ReceiveCloseAsync(), "the auth timeout of a later connection", TimeSpan.FromSeconds(1));
        Assert.That(close, Is.EqualTo((4401, "auth timeout")));
        await tab.SendJsonAsync(new { type = "ping", request_id = "p" });
        Assert.That((await tab.ReceiveAsync()).Type, Is.EqualTo("pong"), "the never-expiring token's connection is still open");
    }

    [Test]
    public async Task The_auth_timeout_is_measured_on_the_hub_clock()
    {
        // With a fake clock nothing happens until the clock moves: the timeout is the hub's, not a race.
        await using var host = HubTestHost.Start(new HubOptions { AuthTimeout = TimeSpan.FromSeconds(10) }, fakeTime: true);
        await using var client = await host.ConnectAsync();
        await Eventually.HoldsAsync(() => host.App.SessionCount == 1, "the hub registering the connection");

        host.Time!.Advance(TimeSpan.FromSeconds(9));
        host.App.Timers.Sweep();
        await client.SendJsonAsync(new { type = "auth", token = host.Token("alice") });
        Assert.That((await client.ReceiveAsync()).Type, Is.EqualTo("process_list"), "9 s in, the connection was still waiting for auth");

        await using var late = await host.ConnectAsync();
        await Eventually.HoldsAsync(() => host.App.SessionCount == 2, "the hub registering the second connection");
        host.Time.Advance(TimeSpan.FromSeconds(10));
        host.App.Timers.Sweep();
        Assert.That(await late.ReceiveCloseAsync(), Is.EqualTo((4401, "auth timeout")));
    }

    [TestCase("""{"type":"ping"}""", TestName = "A_ping_before_auth_closes_with_4401")]
    [TestCase("""{"type":"subscribe","process_id":"*"}""", TestName = "A_subscribe_before_auth_closes_with_4401")]
    [TestCase("""{"type":""", TestName = "Malformed_JSON_before_auth_closes_with_4401")]
    public async Task Any_message_other_than_auth_before_auth_closes_with_4401(string message)
    {
        await using var host = HubTestHost.Start();
        await using var client = await host.ConnectAsync();

        await client.SendTextAsync(message);

        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "auth required")));
    }

    [TestCase("""{"type":"auth","token":123}""", TestName = "An_auth_whose_token_is_a_number_closes_with_4401_saying_so")]
    [TestCase("""{"type":"auth","token":["x"]}""", TestName = "An_auth_whose_token_is_an_array_closes_with_4401_saying_so")]
    public async Task An_auth_whose_token_is_not_a_string_closes_with_4401_saying_so(string message)
    {
        // It was closed as "auth required", which sent the client's author looking for an auth it had sent.
        await using var host = HubTestHost.Start();
        await using var client = await host.ConnectAsync();

        await client.SendTextAsync(message);

        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "token must be a string")));
    }

    [Test]
    public async Task An_auth_message_without_a_token_closes_with_4401()
    {
        await using var host = HubTestHost.Start();
        await using var client = await host.ConnectAsync();

        await client.SendJsonAsync(new { type = "auth" });

        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "missing token")));
    }

    [Test]
    public async Task A_token_expiring_mid_connection_closes_with_4401_token_expired()
    {
        await using var host = HubTestHost.Start(fakeTime: true);
        await using var client = await host.ConnectAsync(queryToken: host.Token("alice", lifetime: TimeSpan.FromMinutes(5)));
        await client.ReceiveUntilAsync("process_list");

        host.Time!.Advance(TimeSpan.FromMinutes(4));
        host.App.Timers.Sweep();
        await HubTestHost.DrainWithPingAsync(client);

        host.Time.Advance(TimeSpan.FromMinutes(2));
        host.App.Timers.Sweep();
        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "token expired")));
    }

    [Test]
    public async Task A_fresh_token_for_the_same_sub_keeps_the_connection_past_the_old_expiry()
    {
        await using var host = HubTestHost.Start(fakeTime: true);
        await using var client = await host.ConnectAsync(queryToken: host.Token("alice", lifetime: TimeSpan.FromMinutes(5)));
        await client.ReceiveUntilAsync("process_list");

        await client.SendJsonAsync(new { type = "auth", token = host.Token("alice", lifetime: TimeSpan.FromMinutes(60)) });
        var beforePong = await HubTestHost.DrainWithPingAsync(client);
        Assert.That(beforePong, Is.Empty, "a refresh has no reply");

        host.Time!.Advance(TimeSpan.FromMinutes(10));
        host.App.Timers.Sweep();
        await HubTestHost.DrainWithPingAsync(client);

        // Events still flow to the refreshed connection.
        var run = host.App.Producer.Start("benchmark", "alice");
        Assert.That((await client.ReceiveAsync()).ProcessId, Is.EqualTo(run.ProcessId));

        host.Time.Advance(TimeSpan.FromMinutes(55));
        host.App.Timers.Sweep();
        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "token expired")), "the new expiry holds in turn");
    }

    [Test]
    public async Task A_refresh_on_one_connection_does_not_extend_another_that_shares_its_token()
    {
        // Both connections present the very same token, so they share one validated identity: the refresh must not
        // reach the other connection through it.
        await using var host = HubTestHost.Start(fakeTime: true);
        string shared = host.Token("alice", lifetime: TimeSpan.FromMinutes(5));
        await using var refreshed = await host.ConnectAsync(queryToken: shared);
        await using var other = await host.ConnectAsync(queryToken: shared);
        await refreshed.ReceiveUntilAsync("process_list");
        await other.ReceiveUntilAsync("process_list");

        await refreshed.SendJsonAsync(new { type = "auth", token = host.Token("alice", lifetime: TimeSpan.FromMinutes(60)) });
        await HubTestHost.DrainWithPingAsync(refreshed);

        host.Time!.Advance(TimeSpan.FromMinutes(10));
        host.App.Timers.Sweep();
        Assert.That(await other.ReceiveCloseAsync(), Is.EqualTo((4401, "token expired")));
        Assert.That(await HubTestHost.DrainWithPingAsync(refreshed), Is.Empty, "the refreshed connection stays open");
    }

    [Test]
    public async Task A_token_for_another_sub_closes_with_4401()
    {
        await using var host = HubTestHost.Start();
        await using var client = await host.OpenTabAsync("alice");

        await client.SendJsonAsync(new { type = "auth", token = host.Token("mallory") });

        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "token is for another user")));
    }

    [TestCase(new[] { "admin" }, new string[0], TestName = "A_refresh_that_drops_admin_closes_with_4401")]
    [TestCase(new string[0], new[] { "admin" }, TestName = "A_refresh_that_adds_admin_closes_with_4401")]
    [TestCase(new[] { "producer" }, new string[0], TestName = "A_refresh_that_drops_producer_closes_with_4401")]
    public async Task A_refresh_with_other_roles_closes_with_4401(string[] rolesBefore, string[] rolesAfter)
    {
        // From a security audit: an admin tab that refreshed with a plain token kept admin's view of every user's
        // processes (bob's params included) after its admin token expired.
        await using var host = HubTestHost.Start();
        await using var client = await host.ConnectAsync(queryToken: host.Token("ops", rolesBefore));
        await client.ReceiveUntilAsync("process_list");

        await client.SendJsonAsync(new { type = "auth", token = host.Token("ops", rolesAfter) });

        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "token roles changed")));
    }

    [TestCase("""{"type":"auth","request_id":"r1"}""", "auth needs a token: the connection keeps its current one")]
    [TestCase("""{"type":"auth","token":"","request_id":"r1"}""", "auth needs a token: the connection keeps its current one")]
    [TestCase("""{"type":"auth","token":null,"request_id":"r1"}""", "auth needs a token: the connection keeps its current one")]
    [TestCase("""{"type":"auth","token":123,"request_id":"r1"}""", "token must be a string")]
    public async Task A_refresh_without_a_usable_token_is_an_error_and_the_connection_stays(string message, string expected)
    {
        // An empty refresh closed a healthy connection with 4401 "missing token", while a number for a token only got
        // an error: both are malformed requests now, and the token the connection has stays in force.
        await using var host = HubTestHost.Start();
        await using var client = await host.OpenTabAsync("alice");

        await client.SendTextAsync(message);
        var error = await client.ReceiveUntilAsync("error");
        var run = host.App.Producer.Start("benchmark", "alice");

        Assert.That((error.String("code"), error.String("message"), error.String("request_id")), Is.EqualTo(("bad_request", expected, "r1")));
        Assert.That((await client.ReceiveUntilAsync("process_started")).ProcessId, Is.EqualTo(run.ProcessId), "the connection still gets its user's events");
    }

    [Test]
    public async Task An_invalid_refresh_token_closes_with_4401()
    {
        await using var host = HubTestHost.Start();
        await using var client = await host.OpenTabAsync("alice");

        await client.SendJsonAsync(new { type = "auth", token = TestTokens.Create(TestTokens.Hs256(OtherSecret), "alice") });

        Assert.That(await client.ReceiveCloseAsync(), Is.EqualTo((4401, "invalid token")));
    }

    [Test]
    public async Task Connections_past_the_per_user_limit_close_with_1013()
    {
        await using var host = HubTestHost.Start(new HubOptions { MaxConnectionsPerUser = 2 });
        await using var first = await host.OpenTabAsync("alice");
        await using var second = await host.OpenTabAsync("alice");
        await using var other = await host.OpenTabAsync("bob");

        await using var third = await host.ConnectAsync(queryToken: host.Token("alice"));

        Assert.That(await third.ReceiveCloseAsync(), Is.EqualTo((1013, "too many connections for this user")));
    }

    [Test]
    public async Task A_tab_that_closed_frees_its_place_at_the_handshake_though_it_keeps_TCP_open()
    {
        await using var host = HubTestHost.Start(new HubOptions { MaxConnectionsPerUser = 1 });
        await using var first = await host.OpenTabAsync("alice");

        // The close handshake, and no FIN from this side: the server's FIN comes after its close frame.
        await first.SendRawAsync(ClientFrame.Close(CloseCodes.Normal, "bye"u8.ToArray()));
        var echo = await first.ReceiveFrameAsync();
        Assert.That((echo.Opcode, echo.CloseCode), Is.EqualTo((Opcodes.Close, (ushort?)CloseCodes.Normal)));
        await first.ExpectClosedAsync();

        // The place was held until the server dropped the socket, a second after the handshake; a tab reconnecting
        // at once at its limit got 1013 meanwhile.
        await using var second = await host.ConnectAsync(queryToken: host.Token("alice"));
        var list = await second.ReceiveAsync();
        Assert.That(list.Type, Is.EqualTo("process_list"), list.ToString());
    }

    [Test]
    public async Task Connections_of_one_user_that_authenticate_at_once_never_get_past_the_per_user_limit()
    {
        await using var host = HubTestHost.Start(new HubOptions { MaxConnectionsPerUser = 2 });
        string token = host.Token("alice");
        // Many rounds of many tabs at once, each authenticating with its first message: the check of the count and
        // the registration used to be two steps, so two tabs could both take the last place.
        for (int round = 0; round < 20; round++)
        {
            var tabs = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => host.ConnectAsync()));
            try
            {
                await Task.WhenAll(tabs.Select(tab => tab.SendJsonAsync(new { type = "auth", token })));
                var firsts = await Task.WhenAll(tabs.Select(async tab => (await tab.ReceiveFrameAsync()).Opcode));
                int admitted = firsts.Count(opcode => opcode == Opcodes.Text);
                Assert.That(admitted, Is.EqualTo(2), $"round {round}: tabs that got a process_list");
            }
            finally
            {
                foreach (var tab in tabs)
                {
                    await tab.DisposeAsync();
                }
            }
            await Eventually.HoldsAsync(() => host.App.Sessions.CountForUser("alice") == 0, "every tab of the round gone");
        }
    }

    private static async Task<RawWebSocketClient> ConnectAsync(HubTestHost host, TokenPath path, string token)
    {
        switch (path)
        {
            case TokenPath.Query:
                return await host.ConnectAsync(queryToken: token);
            case TokenPath.AuthorizationHeader:
                return await host.ConnectAsync(bearerToken: token);
            default:
                var client = await host.ConnectAsync();
                await client.SendJsonAsync(new { type = "auth", token });
                return client;
        }
    }
}
