using ProcessHub.Auth;

namespace ProcessHub.Hub;

/// <summary>
/// The fixed limits on the strings a producer or a client can make the hub keep or say back (docs/protocol.md section
/// 7.2). The larger objects (progress, params, result, error message) are <see cref="HubOptions"/>'.
/// </summary>
internal static class FieldLimits
{
    /// <summary><c>process_type</c>, in characters.</summary>
    public const int MaxProcessTypeLength = 64;

    /// <summary><c>owner</c>, in UTF-8 bytes: an owner is a JWT <c>sub</c>, which has the same bound.</summary>
    public const int MaxOwnerBytes = TokenValidator.MaxSubjectBytes;

    /// <summary><c>error.code</c>, in characters.</summary>
    public const int MaxErrorCodeLength = 64;

    /// <summary>
    /// <c>request_id</c> and <c>process_id</c> of a client message, in characters: both are said back in replies, so a
    /// longer one is refused (and not echoed) rather than repeated.
    /// </summary>
    public const int MaxEchoedIdLength = 256;

    /// <summary>The longest benchmark model or context name, in characters.</summary>
    public const int MaxBenchmarkNameLength = 100;

    /// <summary>
    /// True when <paramref name="text"/> has more than <paramref name="limit"/> characters, counted as a person does
    /// (Unicode scalar values), not as UTF-16 code units: an emoji is one character, not two.
    /// </summary>
    public static bool HasMoreCharactersThan(string text, int limit)
    {
        if (text.Length <= limit)
        {
            return false; // never more characters than code units
        }
        int characters = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            if (++characters > limit)
            {
                return true;
            }
        }
        return false;
    }
}
