namespace ProcessHub.Auth;

/// <summary>
/// Who a valid token speaks for: <c>sub</c>, its roles, and when it stops being valid. Immutable, and shared by every
/// connection that presented the same token (see <see cref="ValidatedTokenCache"/>): a change is a new instance.
/// </summary>
public sealed record UserIdentity(string Subject, bool IsAdmin, bool IsProducer, DateTimeOffset ExpiresAt);
