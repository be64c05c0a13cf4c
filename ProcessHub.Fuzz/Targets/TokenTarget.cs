using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ProcessHub.Auth;

namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// <see cref="TokenValidator.Validate"/>, the token path of every connection. Byte 0 picks the mode; the rest is:
/// <list type="bullet">
/// <item>even modes: the token string itself (UTF-8), anything at all;</item>
/// <item>odd modes: a JWT header's JSON, a newline, a payload's JSON. The target encodes and signs them with the test
/// key (HS256), so the fuzzer gets past the signature to the claims and the header.</item>
/// </list>
/// Bit 1 of byte 0 adds an issuer and audience to the validator's settings. Validation must never throw; a refusal
/// is one of the fixed short reasons (never the token); an accepted token has an identity, was signed with HS256
/// and carries the sub, exp and issuer the settings ask for; asking again (from the cache) gives the same answer.
/// </summary>
internal sealed class TokenTarget : IFuzzTarget
{
    /// <summary>The test key the odd modes sign with; only ever used by the fuzz target and its tests.</summary>
    public const string TestSecret = "processhub-fuzz-test-key-not-a-secret-0123456789";

    public const string TestIssuer = "processhub-fuzz";
    public const string TestAudience = "processhub";

    private static readonly HashSet<string> Reasons = new(StringComparer.Ordinal)
    {
        "missing token", "invalid token", "token expired", "token not yet valid", "invalid issuer", "invalid audience", "token has no sub",
    };

    private static readonly JwtSettings Plain = new() { Secret = TestSecret };
    private static readonly JwtSettings WithIssuer = new() { Secret = TestSecret, Issuer = TestIssuer, Audience = TestAudience };

    public string Name => "token";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        byte mode = input[0];
        var rest = input[1..];
        bool signed = (mode & 1) != 0;
        var settings = (mode & 2) != 0 ? WithIssuer : Plain;
        string token;
        string? payloadJson = null;
        string? headerJson = null;
        if (signed)
        {
            int newline = rest.IndexOf((byte)'\n');
            var header = newline < 0 ? rest : rest[..newline];
            var payload = newline < 0 ? default : rest[(newline + 1)..];
            token = Sign(header, payload);
            headerJson = Encoding.UTF8.GetString(header);
            payloadJson = Encoding.UTF8.GetString(payload);
        }
        else
        {
            token = Encoding.UTF8.GetString(rest);
        }

        // A fresh validator per input: its cache must not carry one input's answer into the next.
        var validator = new TokenValidator(settings, cacheCapacity: 16);
        var first = validator.Validate(token);
        Check(first, token);
        if (first.Succeeded && headerJson is not null && payloadJson is not null)
        {
            CheckAccepted(first.Identity!, headerJson, payloadJson, settings);
        }

        var again = validator.Validate(token);
        Check(again, token);
        InvariantViolationException.Check(
            first.Succeeded == again.Succeeded && first.Identity == again.Identity,
            $"the cached answer differs: {Describe(first)} then {Describe(again)}");
    }

    /// <summary>header.payload.signature, base64url without padding, HMAC-SHA256 with the test key.</summary>
    public static string Sign(ReadOnlySpan<byte> headerJson, ReadOnlySpan<byte> payloadJson)
    {
        string signingInput = Base64Url(headerJson) + "." + Base64Url(payloadJson);
        byte[] signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(TestSecret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static void Check(AuthResult result, string token)
    {
        InvariantViolationException.Check(result.Succeeded == (result.FailureReason is null), $"identity and reason disagree: {Describe(result)}");
        if (!result.Succeeded)
        {
            // Reasons go to the client and the log: a fixed set, so a token can never be echoed (docs/protocol.md section 6).
            InvariantViolationException.Check(Reasons.Contains(result.FailureReason!), $"the unknown reason '{result.FailureReason}'");
            return;
        }
        InvariantViolationException.Check(!string.IsNullOrEmpty(result.Identity!.Subject), "accepted without a subject");
        InvariantViolationException.Check(!string.IsNullOrWhiteSpace(token), "accepted a blank token");
    }

    // What an accepted token must have said, read independently of the library: alg HS256 (no "none", no other
    // algorithm), a "sub" equal to the identity's when it is a string, an "exp", and the configured iss and aud.
    private static void CheckAccepted(UserIdentity identity, string headerJson, string payloadJson, JwtSettings settings)
    {
        using var header = ParseObject(headerJson, "header");
        using var payload = ParseObject(payloadJson, "payload");
        InvariantViolationException.Check(
            header.RootElement.TryGetProperty("alg", out var alg) && alg.ValueKind == JsonValueKind.String && alg.GetString() == "HS256",
            $"accepted a token whose header is {headerJson}");
        var claims = payload.RootElement;
        InvariantViolationException.Check(claims.TryGetProperty("exp", out _), "accepted a token without exp");
        if (claims.TryGetProperty("sub", out var sub) && sub.ValueKind == JsonValueKind.String)
        {
            InvariantViolationException.Check(string.Equals(sub.GetString(), identity.Subject, StringComparison.Ordinal), $"sub {sub} became the subject '{identity.Subject}'");
        }
        if (settings.Issuer is not null)
        {
            InvariantViolationException.Check(
                claims.TryGetProperty("iss", out var iss) && iss.ValueKind == JsonValueKind.String && iss.GetString() == settings.Issuer,
                $"accepted the payload {payloadJson} without the issuer {settings.Issuer}");
        }
        if (settings.Audience is not null)
        {
            // RFC 7519 4.1.3: a string, or an array of strings of which one is ours.
            InvariantViolationException.Check(
                claims.TryGetProperty("aud", out var aud)
                && (aud.ValueKind == JsonValueKind.String ? aud.GetString() == settings.Audience
                    : aud.ValueKind == JsonValueKind.Array && aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.GetString() == settings.Audience)),
                $"accepted the payload {payloadJson} without the audience {settings.Audience}");
        }
        // Roles as docs/protocol.md 2.1 grants them: "role" or "roles", a string or an array of nothing but strings
        // (["admin", 1] grants nothing: read element by element it once granted admin).
        InvariantViolationException.Check(identity.IsAdmin == Grants(claims, "admin"), $"admin is {identity.IsAdmin} for the payload {payloadJson}");
        InvariantViolationException.Check(identity.IsProducer == Grants(claims, "producer"), $"producer is {identity.IsProducer} for the payload {payloadJson}");
    }

    private static bool Grants(JsonElement claims, string role) =>
        new[] { "role", "roles" }.Any(name => claims.TryGetProperty(name, out var claim)
            && (claim.ValueKind == JsonValueKind.String ? claim.GetString() == role
                : claim.ValueKind == JsonValueKind.Array && claim.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                    && claim.EnumerateArray().Any(e => e.GetString() == role)));

    // The first JSON value of the part. Microsoft.IdentityModel reads the header and payload the same way and ignores
    // what follows the first value ({...}"junk" is accepted when signed): a leniency of the library on bytes only the
    // key holder can sign, not a ProcessHub bug, so the invariant does not count it.
    private static JsonDocument ParseObject(string json, string part)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
            var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }
            document.Dispose();
        }
        catch (JsonException)
        {
        }
        throw new InvariantViolationException($"accepted a token whose {part} does not start with a JSON object: {json}");
    }

    private static string Describe(AuthResult result) =>
        result.Succeeded ? $"accepted {result.Identity}" : $"refused ({result.FailureReason})";
}
