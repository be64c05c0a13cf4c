using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Unicode;
using ProcessHub.Hub;

namespace ProcessHub.Api;

/// <summary>
/// Reads a request body as a JSON object, or says why it is not one (for a 400). The caller owns the document and
/// disposes it when the request is done with its elements: that returns the parser's pooled buffers, which would
/// otherwise be garbage on every report of the ingest path.
/// </summary>
internal static class JsonBody
{
    public const string RepeatedMemberName = "a JSON object repeats a member name";
    private const string LoneSurrogateProblem = "a string is not valid Unicode (an escaped lone surrogate)";
    public const string ByteOrderMarkProblem = "the body starts with a byte order mark (U+FEFF): send the JSON without one";

    // A repeated member name (RFC 8259 4 leaves its meaning open; I-JSON, RFC 7493 2.3, forbids it) is refused at any
    // depth: the hub checked the last "current" of {"current":-1,"current":7} and passed the text on verbatim, so a
    // client whose parser keeps the first saw -1. Params and results are passed on verbatim too.
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 32, AllowDuplicateProperties = false };
    private static readonly JsonDocumentOptions Lenient = new() { MaxDepth = 32 };
    private static readonly ReadOnlyMemory<byte> EmptyObject = "{}"u8.ToArray();

    public static bool TryParseObject(ReadOnlyMemory<byte> body, bool allowEmpty, [NotNullWhen(true)] out JsonDocument? document, out string? problem)
    {
        document = null;
        problem = null;
        if (body.IsEmpty)
        {
            if (allowEmpty)
            {
                document = JsonDocument.Parse(EmptyObject);
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
        if (body.Span.StartsWith("\uFEFF"u8))
        {
            // What Windows tools put at the start of a file saved as "UTF-8" (curl -d @file sends it): not JSON (RFC
            // 8259 8.1), and "malformed JSON" sent people looking for a syntax error they could not see.
            problem = ByteOrderMarkProblem;
            return false;
        }
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(body, Strict);
        }
        catch (JsonException)
        {
            problem = RepeatsAMemberName(body) ? RepeatedMemberName
                : JsonNesting.IsDeeperThan(body.Span, Strict.MaxDepth) ? $"the body may nest at most {Strict.MaxDepth} levels of objects and arrays"
                : "malformed JSON";
            return false;
        }
        catch (InvalidOperationException) when (LoneSurrogates.In(body.Span))
        {
            // Comparing member names unescapes them, and a name that escapes a lone surrogate cannot be: the same 400
            // as for one in a value, below.
            problem = LoneSurrogateProblem;
            return false;
        }
        if (parsed.RootElement.ValueKind != JsonValueKind.Object)
        {
            parsed.Dispose();
            problem = "the body must be a JSON object";
            return false;
        }
        if (LoneSurrogates.In(body.Span))
        {
            parsed.Dispose();
            problem = LoneSurrogateProblem;
            return false;
        }
        document = parsed;
        return true;
    }

    /// <param name="label">The field as the message names it, when it is a member of a member (<c>error.message</c>).</param>
    public static bool TryGetOptionalString(JsonElement root, string name, out string? value, out string? problem, string? label = null)
    {
        value = null;
        problem = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(element.GetString()))
        {
            problem = $"{label ?? name} must be a non-empty string";
            return false;
        }
        value = element.GetString();
        return true;
    }

    // Only on the refusal path: whether the body is well-formed JSON but for a repeated name, to say which.
    private static bool RepeatsAMemberName(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var _ = JsonDocument.Parse(body, Lenient);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
