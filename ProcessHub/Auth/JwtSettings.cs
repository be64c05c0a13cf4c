namespace ProcessHub.Auth;

/// <summary>How tokens are checked (docs/protocol.md section 2). Exactly one of the secret and the public key is set.</summary>
public sealed record JwtSettings
{
    /// <summary>HS256 shared secret (UTF-8 bytes of this string).</summary>
    public string? Secret { get; init; }

    /// <summary>PEM public key for RS256 (RSA) or ES256 (EC P-256).</summary>
    public string? PublicKeyPem { get; init; }

    public string? Issuer { get; init; }
    public string? Audience { get; init; }

    /// <summary>Tolerance for exp/nbf between our clock and the issuer's.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);
}
