using System.Buffers.Text;
using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>
/// A JWT's <c>exp</c>, read without checking anything (the hub checks; the watcher only needs to know when to send a
/// fresh token, docs/protocol.md 2.6). Null for anything that is not a JWT with a numeric <c>exp</c>.
/// </summary>
internal static class TokenExpiry
{
    public static DateTimeOffset? Of(string token)
    {
        string[] parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }
        try
        {
            byte[] payload = Base64Url.DecodeFromChars(parts[1]);
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number && exp.TryGetInt64(out long seconds)
                && seconds is > 0 and < 253402300800 // before year 10000: what DateTimeOffset can hold
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
