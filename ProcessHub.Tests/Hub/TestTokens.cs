using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// Tokens the hub's own issuer cannot make: wrong key, issuer or audience, times in the past or future, unsigned,
/// RS256. Built with the same library the hub validates with, so a rejection is the hub's decision, not a parse quirk.
/// </summary>
internal static class TestTokens
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static SigningCredentials Hs256(string secret) =>
        new(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256);

    public static SigningCredentials Es256(ECDsa privateKey) =>
        new(new ECDsaSecurityKey(privateKey), SecurityAlgorithms.EcdsaSha256);

    public static SigningCredentials Rs256(RSA privateKey) =>
        new(new RsaSecurityKey(privateKey), SecurityAlgorithms.RsaSha256);

    /// <summary>A signed token; times default to "valid now for 30 minutes".</summary>
    public static string Create(
        SigningCredentials credentials,
        string? subject = "alice",
        string? issuer = null,
        string? audience = null,
        DateTime? notBefore = null,
        DateTime? expires = null,
        IEnumerable<string>? roles = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>();
        if (subject is not null)
        {
            claims["sub"] = subject;
        }
        if (roles is not null)
        {
            claims["roles"] = roles.ToArray();
        }
        var notBeforeTime = notBefore ?? now.AddMinutes(-1);
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = notBeforeTime < now ? notBeforeTime : now,
            NotBefore = notBeforeTime,
            Expires = expires ?? now.AddMinutes(30),
            Issuer = issuer,
            Audience = audience,
            SigningCredentials = credentials,
        });
    }

    /// <summary>
    /// An HS256 token with exactly the header and payload JSON given, signed by hand: for what the library's token
    /// builder will not write (a <c>crit</c> header, <c>exp</c> as a string, a claim of the wrong type).
    /// </summary>
    public static string SignedRaw(string secret, string headerJson, string payloadJson)
    {
        string signingInput = Base64UrlEncoder.Encode(headerJson) + "." + Base64UrlEncoder.Encode(payloadJson);
        byte[] signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    /// <summary>
    /// A payload valid now for 30 minutes for <paramref name="subject"/>. <paramref name="exp"/>, <paramref name="nbf"/>
    /// and <paramref name="iat"/> are raw JSON values replacing the default numbers; <paramref name="extra"/> is
    /// appended as more members (starting with a comma).
    /// </summary>
    public static string Payload(string subject = "alice", string? issuer = null, string? audience = null, string? exp = null, string? nbf = null, string? iat = null, string extra = "")
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var members = new List<string>
        {
            $"\"sub\":{System.Text.Json.JsonSerializer.Serialize(subject)}",
            $"\"iat\":{iat ?? (now - 60).ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            $"\"nbf\":{nbf ?? (now - 60).ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            $"\"exp\":{exp ?? (now + 1800).ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        };
        if (issuer is not null)
        {
            members.Add($"\"iss\":\"{issuer}\"");
        }
        if (audience is not null)
        {
            members.Add($"\"aud\":\"{audience}\"");
        }
        return "{" + string.Join(",", members) + extra + "}";
    }

    /// <summary>An unsigned token (<c>alg: none</c>, empty signature) with otherwise valid claims.</summary>
    public static string Unsigned(string subject)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        string payload = Base64UrlEncoder.Encode($$"""{"sub":"{{subject}}","iat":{{now - 60}},"nbf":{{now - 60}},"exp":{{now + 1800}}}""");
        return $"{header}.{payload}.";
    }

    /// <summary>
    /// The classic algorithm confusion: an HS256 token whose HMAC key is the server's RSA public key (as PEM text),
    /// which a validator that lets the token pick the algorithm would accept.
    /// </summary>
    public static string HmacSignedWithPublicKey(string publicKeyPem, string subject) =>
        Create(new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(publicKeyPem)), SecurityAlgorithms.HmacSha256), subject);
}
