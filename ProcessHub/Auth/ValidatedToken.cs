namespace ProcessHub.Auth;

/// <summary>
/// What a successful validation established about one token string: the identity it speaks for (one immutable
/// instance, shared by every connection presenting that string) and the lifetime window, in the validator's own
/// terms (UTC, <see cref="DateTime.MinValue"/> for a missing <c>nbf</c>), to re-check on every reuse.
/// </summary>
internal readonly record struct ValidatedToken(UserIdentity Identity, DateTime NotBefore, DateTime Expires);
