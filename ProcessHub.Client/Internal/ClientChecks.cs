using System.Text;
using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>
/// The checks the producer and the watcher make of what they are given, so that a mistake is an exception at the call
/// that made it, naming what was wrong: not a 400 from the hub, nor a failure (or a wait for ever, or a tight loop) at
/// the first retry.
/// </summary>
internal static class ClientChecks
{
    /// <summary><c>process_type</c>, in characters (docs/protocol.md 1.4.1 and 7.2).</summary>
    public const int MaxProcessTypeLength = 64;

    /// <summary><c>owner</c>, in UTF-8 bytes: an owner is a JWT <c>sub</c> (docs/protocol.md 1.4.1 and 7.2).</summary>
    public const int MaxOwnerBytes = 256;

    /// <summary><c>error.code</c>, in characters (docs/protocol.md 1.4.4 and 7.2).</summary>
    public const int MaxErrorCodeLength = 64;

    /// <summary>The longest wait <see cref="Task.Delay(TimeSpan)"/> and a timer take: 2^32 - 2 ms, about 49.7 days.</summary>
    public static readonly TimeSpan LongestWait = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>
    /// <paramref name="url"/> when it is absolute with one of the two schemes. A relative URI has no scheme, host or
    /// path to read (every property throws InvalidOperationException): refused here, with what to give instead.
    /// </summary>
    public static Uri AbsoluteUrl(Uri? url, string paramName, string scheme, string secureScheme)
    {
        ArgumentNullException.ThrowIfNull(url, paramName);
        if (!url.IsAbsoluteUri || (url.Scheme != scheme && url.Scheme != secureScheme))
        {
            // The URL itself is not repeated: its query may hold a token (the dev banner's form).
            throw new ArgumentException($"the hub's URL must be an absolute {scheme}:// or {secureScheme}:// URL (e.g. {scheme}://127.0.0.1:8501{(scheme == "ws" ? "/ws" : "")})", paramName);
        }
        return url;
    }

    /// <summary>
    /// A given token without the white space around it (one read with File.ReadAllText ends with a newline, which an
    /// HTTP header cannot carry); empty or only white space is refused, and so is white space or a control character
    /// inside it, which no JWT has (three base64url parts joined by dots) and no header can carry: it failed at the
    /// first request instead, with a FormatException or an ArgumentException that named a parameter of the runtime's.
    /// </summary>
    public static string Token(string? token, string paramName)
    {
        ArgumentNullException.ThrowIfNull(token, paramName);
        string trimmed = token.Trim();
        if (trimmed.Length == 0)
        {
            throw new ArgumentException("the token is empty or only white space", paramName);
        }
        if (trimmed.Any(static c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ArgumentException("the token has white space or a control character inside it; a JWT is three base64url parts joined by dots", paramName);
        }
        return trimmed;
    }

    /// <summary>A token provider's token, trimmed as a given one is; a null becomes empty (the hub refuses it: 401 or 4401).</summary>
    public static string Provided(string? token) => token?.Trim() ?? "";

    /// <summary>
    /// True when <paramref name="text"/> has more than <paramref name="limit"/> characters, counted as the hub counts
    /// them (Unicode scalar values, docs/protocol.md 7.2): an emoji is one character, not two UTF-16 code units.
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

    /// <summary>A non-empty string that is not only white space and has at most <paramref name="limit"/> characters.</summary>
    public static void Text(string? value, int limit, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value, paramName);
        if (HasMoreCharactersThan(value, limit))
        {
            throw new ArgumentException($"{paramName} must be at most {limit} characters", paramName);
        }
    }

    /// <summary>An owner: non-empty, not only white space, at most 256 bytes of UTF-8.</summary>
    public static void Owner(string owner, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner, paramName);
        if (Encoding.UTF8.GetByteCount(owner) > MaxOwnerBytes)
        {
            throw new ArgumentException($"{paramName} must be at most {MaxOwnerBytes} bytes of UTF-8", paramName);
        }
    }

    /// <summary>
    /// default(JsonElement) holds no JSON at all (writing it throws InvalidOperationException deep in the writer):
    /// refused with the parameter's name.
    /// </summary>
    public static void Json(JsonElement value, string paramName)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException($"{paramName} is default(JsonElement), which holds no JSON", paramName);
        }
    }

    /// <summary>An option's value out of its range: the exception names the option (<c>options.Name</c>).</summary>
    public static ArgumentOutOfRangeException OutOfRange(string option, object value, string rule) =>
        new($"options.{option}", value, $"{option} {rule}");
}
