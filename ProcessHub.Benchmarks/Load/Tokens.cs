using System.Security.Cryptography;
using System.Text;

namespace ProcessHub.Benchmarks.Load;

/// <summary>HS256 JWTs for ProcessHub, minted by hand (header.payload.HMAC-SHA256) so the tool needs no token library.</summary>
internal static class Tokens
{
    public static string Issue(string secret, string subject, bool producer) => Issue(secret, subject, producer ? "producer" : null);

    public static string Issue(string secret, string subject, string? role)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string roles = role is null ? "" : $",\"roles\":[\"{role}\"]";
        string header = Base64Url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8);
        string payload = Base64Url(Encoding.UTF8.GetBytes($"{{\"sub\":\"{subject}\"{roles},\"iat\":{now},\"nbf\":{now - 60},\"exp\":{now + 86_400}}}"));
        string signingInput = header + "." + payload;
        byte[] signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
