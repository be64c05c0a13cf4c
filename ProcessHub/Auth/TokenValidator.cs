using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ProcessHub.Auth;

/// <summary>
/// Validates JWTs with Microsoft.IdentityModel.JsonWebTokens: signature, exp/nbf with a small skew, iss/aud when
/// configured. Only the algorithms of the configured key are accepted, so <c>alg: none</c> and algorithm confusion
/// (an HS256 token "signed" with an RSA public key) are rejected.
/// </summary>
public sealed class TokenValidator
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;

    public TokenValidator(JwtSettings settings)
    {
        Settings = settings;
        var (key, algorithms) = CreateKey(settings);
        _parameters = new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = algorithms,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateIssuerSigningKey = true,
            ValidateLifetime = true,
            ClockSkew = settings.ClockSkew,
            ValidateIssuer = settings.Issuer is not null,
            ValidIssuer = settings.Issuer,
            ValidateAudience = settings.Audience is not null,
            ValidAudience = settings.Audience,
            NameClaimType = "sub",
        };
    }

    public JwtSettings Settings { get; }

    /// <summary>
    /// Validates synchronously: the keys are local, so validation is pure computation and the engine's
    /// receive loop can act on the result before it reads the next frame.
    /// </summary>
    public AuthResult Validate(string? token) => ValidateAsync(token).GetAwaiter().GetResult();

    public async Task<AuthResult> ValidateAsync(string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return AuthResult.Fail("missing token");
        }
        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(token, _parameters).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            return AuthResult.Fail("invalid token");
        }
        if (!result.IsValid)
        {
            // Reasons are short and never echo the token (PROTOCOL.md section 6).
            return AuthResult.Fail(result.Exception switch
            {
                SecurityTokenExpiredException => "token expired",
                SecurityTokenNotYetValidException => "token not yet valid",
                SecurityTokenInvalidIssuerException => "invalid issuer",
                SecurityTokenInvalidAudienceException => "invalid audience",
                _ => "invalid token",
            });
        }
        var jwt = (JsonWebToken)result.SecurityToken;
        var subject = jwt.Subject;
        if (string.IsNullOrEmpty(subject))
        {
            return AuthResult.Fail("token has no sub");
        }
        var roles = ReadRoles(jwt);
        return new AuthResult(new UserIdentity(subject, roles.Contains("admin"), roles.Contains("producer"), jwt.ValidTo == DateTime.MinValue ? DateTimeOffset.MaxValue : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero)), null);
    }

    /// <summary>Signs a token with the configured secret (dev mode and tests).</summary>
    public string Issue(string subject, IEnumerable<string> roles, TimeSpan lifetime)
    {
        if (Settings.Secret is null)
        {
            throw new InvalidOperationException("tokens can only be issued with a shared secret");
        }
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        var roleList = roles.ToArray();
        if (roleList.Length > 0)
        {
            claims["roles"] = roleList;
        }
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Issuer = Settings.Issuer,
            Audience = Settings.Audience,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Settings.Secret)), SecurityAlgorithms.HmacSha256),
        });
    }

    private static HashSet<string> ReadRoles(JsonWebToken jwt)
    {
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in jwt.Claims)
        {
            if (claim.Type is "role" or "roles")
            {
                // A JSON array claim arrives as one Claim per element; a space-separated string is also accepted.
                foreach (var role in claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    roles.Add(role);
                }
            }
        }
        return roles;
    }

    private static (SecurityKey Key, string[] Algorithms) CreateKey(JwtSettings settings)
    {
        if (settings.PublicKeyPem is { } pem)
        {
            // A "PUBLIC KEY" PEM may hold either kind of key: try EC (ES256) first, then RSA (RS256).
            var ec = ECDsa.Create();
            try
            {
                ec.ImportFromPem(pem);
                return (new ECDsaSecurityKey(ec), [SecurityAlgorithms.EcdsaSha256]);
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                ec.Dispose();
            }
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return (new RsaSecurityKey(rsa), [SecurityAlgorithms.RsaSha256]);
        }
        if (settings.Secret is { } secret)
        {
            var bytes = Encoding.UTF8.GetBytes(secret);
            if (bytes.Length < 32)
            {
                throw new ArgumentException("the JWT secret must be at least 32 bytes (HS256 needs a 256-bit key)");
            }
            return (new SymmetricSecurityKey(bytes), [SecurityAlgorithms.HmacSha256]);
        }
        throw new ArgumentException("a JWT secret or public key is required");
    }
}
