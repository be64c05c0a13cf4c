using System.Text.Json;
using System.Text.Unicode;

namespace ProcessHub.Api;

/// <summary>Reads a request body as a JSON object, or says why it is not one (for a 400).</summary>
internal static class JsonBody
{
    public static bool TryParseObject(ReadOnlyMemory<byte> body, bool allowEmpty, out JsonElement root, out string? problem)
    {
        root = default;
        problem = null;
        if (body.IsEmpty)
        {
            if (allowEmpty)
            {
                root = JsonDocument.Parse("{}").RootElement;
                return true;
            }
            problem = "the body must be a JSON object";
            return false;
        }
        // The parser checks the JSON's structure, not the bytes inside its strings: those throw only when a string is
        // read, long after this 400 could have been given. One vectorized pass over the body settles it first.
        if (!Utf8.IsValid(body.Span))
        {
            problem = "the body is not valid UTF-8";
            return false;
        }
        try
        {
            root = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 }).RootElement;
        }
        catch (JsonException)
        {
            problem = "malformed JSON";
            return false;
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            problem = "the body must be a JSON object";
            return false;
        }
        if (LoneSurrogates.In(body.Span))
        {
            problem = "a string is not valid Unicode (an escaped lone surrogate)";
            return false;
        }
        return true;
    }

    public static bool TryGetOptionalString(JsonElement root, string name, out string? value, out string? problem)
    {
        value = null;
        problem = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(element.GetString()))
        {
            problem = $"{name} must be a non-empty string";
            return false;
        }
        value = element.GetString();
        return true;
    }
}
