using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ProcessHub.Auth;

/// <summary>
/// Validates JWTs with Microsoft.IdentityModel.JsonWebTokens: signature, exp/nbf with a small skew, iss/aud when
/// configured. Only the algorithms of the configured key are accepted, so <c>alg: none</c> and algorithm confusion
/// (an HS256 token "signed" with an RSA public key) are rejected.
/// </summary>
/// <remarks>
/// A token that passed is remembered (<see cref="ValidatedTokenCache"/>): many connections of one user present the
/// same token, and full validation both costs CPU and leaves a lot of garbage behind, which shows as memory after a
/// connection storm. A remembered token is still checked against its lifetime on every use, with the same rules
/// and clock as full validation, so the cache never accepts a token that validation would refuse.
/// </remarks>
public sealed class TokenValidator
{
    /// <summary>Distinct valid tokens remembered at once: far more than the users of one hub, a few MiB at most.</summary>
    internal const int DefaultCacheCapacity = 4096;

    /// <summary>The longest <c>sub</c> accepted, in UTF-8 bytes; a longer one makes the token invalid.</summary>
    public const int MaxSubjectBytes = 256;

    // The JWS compact serialization: base64url parts (no padding) joined by dots.
    private static readonly System.Buffers.SearchValues<char> CompactJwsChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");


    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;
    private readonly ValidatedTokenCache _validated;

    public TokenValidator(JwtSettings settings)
        : this(settings, DefaultCacheCapacity)
    {
    }

    /// <param name="settings">Keys, issuer, audience and clock skew.</param>
    /// <param name="cacheCapacity">Valid tokens remembered at once; 0 validates every token in full.</param>
    internal TokenValidator(JwtSettings settings, int cacheCapacity)
    {
        Settings = settings;
        _validated = new ValidatedTokenCache(cacheCapacity);
        var (key, algorithms) = CreateKey(settings);
        Algorithm = algorithms[0];
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

    /// <summary>The one signature algorithm tokens must carry: HS256 for a secret, RS256 or ES256 for a public key.</summary>
    public string Algorithm { get; }

    /// <summary>
    /// Validates synchronously: the keys are local, so validation is pure computation and the engine's
    /// receive loop can act on the result before it reads the next frame.
    /// </summary>
    public AuthResult Validate(string? token) =>
        TryAnswerWithoutValidating(token, out var answer) ? answer : ValidateInFullAsync(token!).GetAwaiter().GetResult();

    public Task<AuthResult> ValidateAsync(string? token) =>
        TryAnswerWithoutValidating(token, out var answer) ? Task.FromResult(answer) : ValidateInFullAsync(token!);

    /// <summary>Valid tokens remembered right now (tests and diagnostics).</summary>
    internal int CachedTokenCount => _validated.Count;

    /// <summary>A missing token, or one validated before and still within its lifetime.</summary>
    private bool TryAnswerWithoutValidating(string? token, out AuthResult answer)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            answer = AuthResult.Fail("missing token");
            return true;
        }
        if (!_validated.TryGet(token, out var known))
        {
            answer = default;
            return false;
        }
        // Signature, algorithm, issuer, audience and sub do not change with time; the lifetime does. These are the
        // comparisons Microsoft.IdentityModel's lifetime validation makes, with the same skew and on the same clock:
        // the system's UTC clock (the library's TimeProvider setting is internal, so validation always uses it).
        var now = DateTime.UtcNow;
        if (known.NotBefore > AddClamped(now, Settings.ClockSkew) || known.Expires < AddClamped(now, -Settings.ClockSkew))
        {
            // Out of its window: forget it and let full validation refuse it, with the very reason it always gives.
            _validated.Remove(token);
            answer = default;
            return false;
        }
        answer = new AuthResult(known.Identity, null);
        return true;
    }

    private async Task<AuthResult> ValidateInFullAsync(string token)
    {
        if (token.AsSpan().ContainsAnyExcept(CompactJwsChars))
        {
            // RFC 7515 2 and 7.1: each part is base64url without '=' padding. The library decodes padded parts too, so
            // one token would have several spellings, and a proxy or log filter keyed on one would miss the others.
            return AuthResult.Fail("invalid token");
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
            // Reasons are short and never echo the token (docs/protocol.md section 6).
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
        if (jwt.TryGetHeaderValue<object>("crit", out _))
        {
            // RFC 7515 4.1.11: a JWS whose crit names an extension the recipient does not understand is invalid; we
            // understand none (and RFC 7515 forbids an empty list), so any crit is refused.
            return AuthResult.Fail("invalid token");
        }
        if (!TryReadPayload(jwt, out var roles))
        {
            return AuthResult.Fail("invalid token");
        }
        string? subject;
        try
        {
            subject = jwt.Subject;
        }
        catch (InvalidOperationException)
        {
            // The signature covers bytes, not text: a signed claim may still hold invalid UTF-8 or an escaped lone
            // surrogate, and the library throws only when the claim is read. Refused like any other bad token.
            return AuthResult.Fail("invalid token");
        }
        if (string.IsNullOrWhiteSpace(subject))
        {
            // Only white space is no user either: the API refuses such an owner, and a token must not make one.
            return AuthResult.Fail("token has no sub");
        }
        if (Encoding.UTF8.GetByteCount(subject) > MaxSubjectBytes)
        {
            // A user id, not a payload: it is kept per connection, per process owner and in budgets.
            return AuthResult.Fail("invalid token");
        }
        var identity = new UserIdentity(subject, roles.Contains("admin"), roles.Contains("producer"), jwt.ValidTo == DateTime.MinValue ? DateTimeOffset.MaxValue : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
        // ValidFrom/ValidTo are MinValue when the claim is missing, which the lifetime check treats as "no bound"
        // for nbf; exp is required, so a cached token always has one.
        _validated.Add(token, new ValidatedToken(identity, jwt.ValidFrom, jwt.ValidTo), deadBefore: AddClamped(DateTime.UtcNow, -Settings.ClockSkew));
        return new AuthResult(identity, null);
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

    // DateTime arithmetic that saturates instead of throwing, as the library's own lifetime check does.
    private static DateTime AddClamped(DateTime time, TimeSpan offset)
    {
        if (offset >= TimeSpan.Zero)
        {
            return DateTime.MaxValue - time <= offset ? DateTime.MaxValue : time + offset;
        }
        return offset <= DateTime.MinValue - time ? DateTime.MinValue : time + offset;
    }

    /// <summary>
    /// Reads the payload as sent, once per distinct valid token (the cache remembers the outcome). Refused (false): a
    /// claim named twice (one reading, as for bodies and messages: <c>{"sub":"bob","sub":"alice"}</c> was alice, and a
    /// past <c>exp</c> followed by a future one passed); a <c>sub</c> that is not a string, or <c>exp</c>, <c>nbf</c>,
    /// <c>iat</c> that are not NumericDate, a JSON number (RFC 7519 4.1.2, 4.1.4-4.1.6: the library reads a string of
    /// digits as a time too). <paramref name="roles"/>: <c>role</c> and <c>roles</c>, each a string or an array of
    /// strings; every string is one role, compared exactly (so <c>"admin producer"</c> is one unknown role, not two).
    /// Anything else in such a claim grants nothing: <c>[1,"admin"]</c> is not an array of strings, and granted admin
    /// when the library's claims were read element by element.
    /// </summary>
    private static bool TryReadPayload(JsonWebToken jwt, out HashSet<string> roles)
    {
        roles = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                if (!names.Add(name))
                {
                    return false;
                }
                reader.Read();
                bool wellTyped = name switch
                {
                    "exp" or "nbf" or "iat" => reader.TokenType == JsonTokenType.Number,
                    "sub" => reader.TokenType == JsonTokenType.String,
                    _ => true,
                };
                if (!wellTyped)
                {
                    return false;
                }
                if (name is "role" or "roles")
                {
                    ReadRoleClaim(ref reader, roles);
                }
                else
                {
                    reader.Skip();
                }
            }
            return true;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not text (an escaped lone surrogate), refused like any
            // other bad token.
            return false;
        }
    }

    // The reader is on the claim's value; it is left on the value's last token.
    private static void ReadRoleClaim(ref Utf8JsonReader reader, HashSet<string> roles)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            roles.Add(reader.GetString()!);
            return;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        var strings = new List<string>();
        bool onlyStrings = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                strings.Add(reader.GetString()!);
            }
            else
            {
                onlyStrings = false;
                reader.Skip();
            }
        }
        if (onlyStrings)
        {
            roles.UnionWith(strings);
        }
    }

    private const string P256Oid = "1.2.840.10045.3.1.7"; // secp256r1, NIST P-256: the curve of ES256

    private static (SecurityKey Key, string[] Algorithms) CreateKey(JwtSettings settings)
    {
        if (settings.PublicKeyPem is { } pem)
        {
            if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            {
                // ImportFromPem takes a private key as readily, and the hub then ran holding the issuer's signing key
                // while its banner spoke of a public one (found by a security audit).
                throw new ArgumentException("--jwt-public-key holds a private key: give the hub the public key only (openssl pkey -in key.pem -pubout), and keep the private key with the issuer of the tokens");
            }
            // A "PUBLIC KEY" PEM may hold either kind of key: try EC (ES256) first, then RSA (RS256).
            var ec = ECDsa.Create();
            try
            {
                ec.ImportFromPem(pem);
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                ec.Dispose();
                ec = null;
            }
            if (ec is not null)
            {
                // Only ES256 is accepted, which is P-256: a key on another curve would start the hub and then refuse
                // every token its issuer signs (ES384, ES512), so it is refused here, at start.
                var curve = ec.ExportParameters(includePrivateParameters: false).Curve;
                if (!curve.IsNamed || curve.Oid.Value != P256Oid)
                {
                    string name = curve.Oid?.FriendlyName ?? curve.Oid?.Value ?? $"a {ec.KeySize}-bit curve";
                    ec.Dispose();
                    throw new ArgumentException($"--jwt-public-key: the EC public key is on {name}; only P-256 keys (ES256) are accepted");
                }
                return (new ECDsaSecurityKey(ec), [SecurityAlgorithms.EcdsaSha256]);
            }
            var rsa = RSA.Create();
            try
            {
                rsa.ImportFromPem(pem);
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                // The runtime's own words ("No supported key formats were found. Check that the input represents the
                // contents of a PEM-encoded key file, not the path to such a file", "ASN1 corrupted data") named no
                // option, and the first told a user who had given a path that they should not have.
                rsa.Dispose();
                throw new ArgumentException("--jwt-public-key: its PEM block holds no RSA or EC P-256 public key that can be read (damaged base64 or DER, or a key of another kind, such as Ed25519); give the public key of the tokens' issuer, as `openssl pkey -in key.pem -pubout` writes it", ex);
            }
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
