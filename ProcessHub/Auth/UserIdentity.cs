namespace ProcessHub.Auth;

/// <summary>Who a valid token speaks for: <c>sub</c>, its roles, and when it stops being valid.</summary>
public sealed record UserIdentity(string Subject, bool IsAdmin, bool IsProducer, DateTimeOffset ExpiresAt);
