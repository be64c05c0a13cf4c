namespace ProcessHub.Auth;

/// <summary>A validated identity, or the short reason a connection is closed with (4401), never containing the token.</summary>
public readonly record struct AuthResult(UserIdentity? Identity, string? FailureReason)
{
    public bool Succeeded => Identity is not null;

    public static AuthResult Fail(string reason) => new(null, reason);
}
