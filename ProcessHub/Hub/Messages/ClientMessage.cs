using System.Text.Json;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Hub.Messages;

/// <summary>A client-to-server message (docs/protocol.md section 4), or why it could not be read.</summary>
internal sealed record ClientMessage(string Type, string? RequestId, string? ProcessId, long? Since, string? Epoch, string? Token)
{
    /// <summary>The problem of a <c>token</c> that is not a string: before authentication it is the 4401's reason.</summary>
    public const string TokenNotAString = "token must be a string";

    private const int MaxDepth = 16;

    /// <summary>Reads the fields the protocol defines; others are ignored. Null with a reason for bad_request.</summary>
    public static ClientMessage? TryParse(ReadOnlySpan<byte> utf8, out string? problem, out string? requestId)
    {
        problem = null;
        requestId = null;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "a message must be a JSON object";
                return null;
            }
            if (!TryGetString(root, "request_id", out requestId, ref problem))
            {
                return null;
            }
            if (requestId is not null && FieldLimits.HasMoreCharactersThan(requestId, FieldLimits.MaxEchoedIdLength))
            {
                // Replies say it back: a longer one is refused, and not repeated in the refusal either.
                requestId = null;
                problem = $"request_id must be a string of at most {FieldLimits.MaxEchoedIdLength} characters";
                return null;
            }
            if (RepeatedField(root) is { } repeated)
            {
                // Which copy counts is up to each parser (RFC 8259 4): a cancel or a subscribe that names two ids is
                // refused, not run on the one this parser happens to keep. Nothing is said back, request_id neither.
                requestId = null;
                problem = $"{repeated} is given more than once";
                return null;
            }
            if (!IsAtEnd(ref reader))
            {
                // One message is one JSON value (RFC 8259 2), as an HTTP API body is: `{...} GARBAGE` is refused, not run.
                problem = "unexpected data after the JSON object";
                return null;
            }
            if (!TryGetString(root, "type", out var type, ref problem))
            {
                return null;
            }
            if (type is null)
            {
                problem = "missing field: type";
                return null;
            }
            if (!TryGetString(root, "process_id", out var processId, ref problem)
                || !TryGetString(root, "epoch", out var epoch, ref problem)
                || !TryGetString(root, "token", out var token, ref problem))
            {
                return null;
            }
            if (processId is not null && FieldLimits.HasMoreCharactersThan(processId, FieldLimits.MaxEchoedIdLength))
            {
                problem = $"process_id must be a string of at most {FieldLimits.MaxEchoedIdLength} characters";
                return null;
            }
            long? since = null;
            if (root.TryGetProperty("since", out var sinceElement) && sinceElement.ValueKind != JsonValueKind.Null)
            {
                if (sinceElement.ValueKind != JsonValueKind.Number || !sinceElement.TryGetInt64(out long sinceValue) || sinceValue < 0)
                {
                    problem = "since must be a non-negative integer" + ProgressJson.WholeNumberHint(sinceElement);
                    return null;
                }
                since = sinceValue;
            }
            return new ClientMessage(type, requestId, processId, since, epoch, token);
        }
        catch (JsonException)
        {
            if (!JsonNesting.IsDeeperThan(utf8, MaxDepth))
            {
                problem = "malformed JSON";
                return null;
            }
            problem = $"a message may nest at most {MaxDepth} levels of objects and arrays";
            // Well-formed, so its request_id can be read and said back, as for any other refusal of a readable message.
            requestId = JsonNesting.TopLevelString(utf8, "request_id");
            if (requestId is not null && FieldLimits.HasMoreCharactersThan(requestId, FieldLimits.MaxEchoedIdLength))
            {
                requestId = null;
            }
            return null;
        }
        catch (InvalidOperationException)
        {
            // Valid JSON may still hold a string, value or property name, that is no valid UTF-16: an escaped lone
            // surrogate ("\ud800", RFC 8259 8.2), or invalid UTF-8 where the bytes were not checked before. Reading or
            // matching it throws; it is the client's mistake: bad_request, not an exception that ends the connection.
            problem = "a string is not valid Unicode";
            return null;
        }
    }

    private static readonly string[] Fields = ["type", "request_id", "process_id", "since", "epoch", "token"];
    private static readonly byte[][] FieldsUtf8 = [.. Fields.Select(System.Text.Encoding.UTF8.GetBytes)];

    /// <summary>The first field of the protocol's that the object names twice, if any; other members are not read, so not checked.</summary>
    private static string? RepeatedField(JsonElement root)
    {
        int seen = 0;
        foreach (var property in root.EnumerateObject())
        {
            for (int i = 0; i < Fields.Length; i++)
            {
                // UTF-8 against UTF-8: a name given as a string is transcoded at every call (a 64 KiB message has
                // thousands of members, six calls each).
                if (property.NameEquals(FieldsUtf8[i]))
                {
                    if ((seen & (1 << i)) != 0)
                    {
                        return Fields[i];
                    }
                    seen |= 1 << i;
                    break;
                }
            }
        }
        return null;
    }

    // Only whitespace may follow the value; the reader says so by ending, and throws on anything else.
    private static bool IsAtEnd(ref Utf8JsonReader reader)
    {
        try
        {
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryGetString(JsonElement root, string name, out string? value, ref string? problem)
    {
        value = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            problem = name == "token" ? TokenNotAString : $"{name} must be a string";
            return false;
        }
        value = element.GetString();
        return true;
    }
}
