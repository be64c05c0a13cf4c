using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.Unit.Auth;

/// <summary>
/// The validated-token cache inside <see cref="TokenValidator"/>: a repeated token is answered with the identity it
/// got the first time, but never one that full validation would refuse at that moment, and never for a token string
/// that is not exactly the one validated.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class TokenValidatorCacheTests
{
    private const string Secret = "token-cache-tests-secret-0123456789-abcdefghij";
    private const string OtherSecret = "not-the-cache-tests-secret-0123456789-abcdefgh";

    private static readonly JwtSettings NoSkew = new() { Secret = Secret, ClockSkew = TimeSpan.Zero };

    [Test]
    public void A_repeated_token_gets_the_same_identity_instance()
    {
        var validator = new TokenValidator(NoSkew);
        string token = TestTokens.Create(TestTokens.Hs256(Secret), "alice", roles: ["producer"]);

        var first = validator.Validate(token);
        var second = validator.Validate(token);

        Assert.That(first.Succeeded, Is.True);
        Assert.That(second.Identity, Is.SameAs(first.Identity));
        Assert.That(second.Identity, Is.EqualTo(new UserIdentity("alice", IsAdmin: false, IsProducer: true, first.Identity!.ExpiresAt)));
        Assert.That(validator.CachedTokenCount, Is.EqualTo(1));
    }

    [Test]
    public async Task A_cached_token_past_its_expiry_is_refused_with_the_reason_an_uncached_one_gets()
    {
        var uncached = new TokenValidator(NoSkew, cacheCapacity: 0);
        // The validator reads the system clock (Microsoft.IdentityModel's TimeProvider setting is internal), so only
        // real time can expire a token, and exp has whole seconds: the token expires at the next whole second (the
        // one after when that is too close), at most about a second away. A validation that did not make it before
        // the expiry on a busy machine proves nothing about the cache, so it is tried again with a later one.
        TokenValidator validator;
        string token;
        DateTime expires;
        while (true)
        {
            validator = new TokenValidator(NoSkew);
            var now = DateTime.UtcNow;
            expires = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc).AddSeconds(1);
            if (expires - now < TimeSpan.FromMilliseconds(200))
            {
                expires = expires.AddSeconds(1);
            }
            token = TestTokens.Create(TestTokens.Hs256(Secret), "alice", expires: expires);
            var validated = validator.Validate(token);
            if (DateTime.UtcNow < expires)
            {
                Assert.That(validated.Succeeded, Is.True, "valid, and so cached, before its expiry");
                break;
            }
        }
        Assert.That(validator.CachedTokenCount, Is.EqualTo(1));

        // Wait out the expiry (exp is inclusive: the token is refused once the clock is past it).
        while (DateTime.UtcNow <= expires)
        {
            await Task.Delay(expires - DateTime.UtcNow + TimeSpan.FromMilliseconds(20));
        }
        var fromCache = validator.Validate(token);
        var inFull = uncached.Validate(token);

        Assert.That(inFull.FailureReason, Is.EqualTo("token expired"));
        Assert.That(fromCache.Succeeded, Is.False);
        Assert.That(fromCache.FailureReason, Is.EqualTo(inFull.FailureReason));
        Assert.That(validator.CachedTokenCount, Is.Zero, "an expired token is forgotten");
    }

    [Test]
    public void Another_token_for_the_same_sub_is_validated_on_its_own()
    {
        var validator = new TokenValidator(NoSkew);
        string plain = TestTokens.Create(TestTokens.Hs256(Secret), "alice", expires: DateTime.UtcNow.AddMinutes(10));
        string admin = TestTokens.Create(TestTokens.Hs256(Secret), "alice", expires: DateTime.UtcNow.AddMinutes(20), roles: ["admin"]);

        var plainIdentity = validator.Validate(plain).Identity!;
        var adminIdentity = validator.Validate(admin).Identity!;

        Assert.That(adminIdentity, Is.Not.SameAs(plainIdentity));
        Assert.That(plainIdentity.IsAdmin, Is.False);
        Assert.That(adminIdentity.IsAdmin, Is.True);
        Assert.That(adminIdentity.ExpiresAt, Is.GreaterThan(plainIdentity.ExpiresAt));
        Assert.That(validator.CachedTokenCount, Is.EqualTo(2));
        Assert.That(validator.Validate(plain).Identity, Is.SameAs(plainIdentity));
    }

    [Test]
    public void A_tampered_token_sharing_the_valid_ones_prefix_is_not_served_from_the_cache()
    {
        var validator = new TokenValidator(NoSkew);
        string token = TestTokens.Create(TestTokens.Hs256(Secret), "alice");
        Assert.That(validator.Validate(token).Succeeded, Is.True);

        // Same header and payload, one signature character changed (the first: the last one's low bits are padding).
        int signature = token.LastIndexOf('.') + 1;
        string tampered = token[..signature] + (token[signature] == 'A' ? 'B' : 'A') + token[(signature + 1)..];
        var result = validator.Validate(tampered);

        Assert.That(result.Succeeded, Is.False);
        Assert.That(result.FailureReason, Is.EqualTo("invalid token"));
        Assert.That(validator.CachedTokenCount, Is.EqualTo(1));
    }

    [Test]
    public void Refused_tokens_are_not_remembered()
    {
        var validator = new TokenValidator(NoSkew);
        string badSignature = TestTokens.Create(TestTokens.Hs256(OtherSecret), "alice");
        string noSub = TestTokens.Create(TestTokens.Hs256(Secret), subject: null);

        for (int i = 0; i < 2; i++)
        {
            Assert.That(validator.Validate(badSignature).FailureReason, Is.EqualTo("invalid token"));
            Assert.That(validator.Validate(noSub).FailureReason, Is.EqualTo("token has no sub"));
            Assert.That(validator.Validate("").FailureReason, Is.EqualTo("missing token"));
        }
        Assert.That(validator.CachedTokenCount, Is.Zero);
    }

    [Test]
    public void The_cache_stays_within_its_capacity_and_every_token_still_validates()
    {
        var validator = new TokenValidator(NoSkew, cacheCapacity: 2);
        string[] tokens = [.. Enumerable.Range(0, 5).Select(i => TestTokens.Create(TestTokens.Hs256(Secret), $"user-{i}"))];

        foreach (var token in tokens.Concat(tokens))
        {
            Assert.That(validator.Validate(token).Succeeded, Is.True);
            Assert.That(validator.CachedTokenCount, Is.LessThanOrEqualTo(2));
        }
    }
}
