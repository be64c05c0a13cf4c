using System.Text.Json;

namespace ProcessHub.Hub;

/// <summary>
/// Only on a refusal path: whether JSON that a parser with a depth limit refused is well-formed but nested deeper than
/// that limit, so that its author is told so instead of "malformed JSON" and does not go looking for a syntax error.
/// </summary>
internal static class JsonNesting
{
    // Deeper than this is refused as malformed anyway: the look stays bounded on a hostile message.
    private const int LookDepth = 256;

    public static bool IsDeeperThan(ReadOnlySpan<byte> json, int maxDepth)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = LookDepth });
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
            return false; // malformed (or past the look's own depth): said as malformed
        }
        return deepest > maxDepth;
    }
}
