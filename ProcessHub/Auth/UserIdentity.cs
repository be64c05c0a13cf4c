namespace ProcessHub.Auth;

/// <summary>
/// Who a valid token speaks for: <c>sub</c>, its roles, and when it stops being valid. Immutable, and shared by every
/// connection that presented the same token (see <see cref="ValidatedTokenCache"/>): a change is a new instance.
/// </summary>
public sealed record UserIdentity(string Subject, bool IsAdmin, bool IsProducer, DateTimeOffset ExpiresAt)
{
    /// <summary>The <c>sub</c> as a log line may show it: escaped and cut (<see cref="SubjectLogForm"/>). Log this, never <see cref="Subject"/>.</summary>
    public string SubjectForLog => SubjectLogForm.Of(Subject);
}
