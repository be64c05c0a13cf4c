using ProcessHub.Auth;
using ProcessHub.Client.Internal;

namespace ProcessHub.Hub;

/// <summary>
/// The fixed limits on the strings a producer or a client can make the hub keep or say back (docs/protocol.md section
/// 7.2). The larger objects (progress, params, result, error message) are <see cref="HubOptions"/>'.
/// </summary>
internal static class FieldLimits
{
    /// <summary><c>process_type</c>, in characters (the client library checks the same bound).</summary>
    public const int MaxProcessTypeLength = ClientChecks.MaxProcessTypeLength;

    /// <summary><c>owner</c>, in UTF-8 bytes: an owner is a JWT <c>sub</c>, which has the same bound.</summary>
    public const int MaxOwnerBytes = TokenValidator.MaxSubjectBytes;

    /// <summary>True when <paramref name="name"/> is longer than a user's name may be (<see cref="MaxOwnerBytes"/> of UTF-8): an owner, or who cancelled.</summary>
    public static bool IsLongerThanAUserName(string name) => System.Text.Encoding.UTF8.GetByteCount(name) > MaxOwnerBytes;

    /// <summary><c>error.code</c>, in characters (the client library checks the same bound).</summary>
    public const int MaxErrorCodeLength = ClientChecks.MaxErrorCodeLength;

    /// <summary>
    /// <c>request_id</c> and <c>process_id</c> of a client message, in characters: both are said back in replies, so a
    /// longer one is refused (and not echoed) rather than repeated.
    /// </summary>
    public const int MaxEchoedIdLength = 256;

    /// <summary>The longest benchmark model or context name, in characters.</summary>
    public const int MaxBenchmarkNameLength = 100;

    /// <summary>
    /// True when <paramref name="text"/> has more than <paramref name="limit"/> characters, counted as a person does
    /// (Unicode scalar values), not as UTF-16 code units: an emoji is one character, not two. The client library checks
    /// its arguments by the same count, so the one implementation is its own.
    /// </summary>
    public static bool HasMoreCharactersThan(string text, int limit) => ClientChecks.HasMoreCharactersThan(text, limit);
}
