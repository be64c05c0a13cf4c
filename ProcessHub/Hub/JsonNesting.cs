using System.Text.Json;

namespace ProcessHub.Hub;

/// <summary>
/// Only on a refusal path: whether JSON that a parser with a depth limit refused is well-formed but nested deeper than
/// that limit, so that its author is told so instead of "malformed JSON" and does not go looking for a syntax error;
/// and, for such a message, the <c>request_id</c> its refusal can still say back.
/// </summary>
internal static class JsonNesting
{
    public static bool IsDeeperThan(ReadOnlySpan<byte> json, int maxDepth)
    {
        var reader = new Utf8JsonReader(json, Unbounded(json));
        int deepest = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    deepest = Math.Max(deepest, reader.CurrentDepth + 1);
                }
            }
        }
        catch (JsonException)
        {
            return false; // malformed: said as malformed
        }
        return deepest > maxDepth;
    }

    /// <summary>
    /// The root object's string member <paramref name="name"/> of well-formed JSON, when it is there once; null when it
    /// is missing, not a string or no valid Unicode, or when the root names any member twice (a refusal says back only
    /// what it could read for sure, and a message that repeats a field gets nothing said back, docs/protocol.md 3.8).
    /// </summary>
    public static string? TopLevelString(ReadOnlySpan<byte> json, string name)
    {
        var reader = new Utf8JsonReader(json, Unbounded(json));
        string? found = null;
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    if (!names.Add(reader.GetString()!))
                    {
                        return null;
                    }
                    if (reader.ValueTextEquals(name))
                    {
                        reader.Read();
                        found = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
        return found;
    }

    // No depth is refused: the depth of a text cannot exceed its length, and the text is one message or body already
    // within its size limit, so the look stays bounded without a depth limit of its own. (A limit of 256 here said
    // "malformed JSON" of well-formed messages nested deeper than that.)
    private static JsonReaderOptions Unbounded(ReadOnlySpan<byte> json) => new() { MaxDepth = json.Length + 1 };
}
