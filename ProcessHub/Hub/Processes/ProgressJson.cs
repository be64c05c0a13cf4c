using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ProcessHub.Hub.Processes;

/// <summary>Builds and checks the JSON objects a process carries: progress (docs/protocol.md section 3) and errors.</summary>
internal static class ProgressJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions SerializerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Any value as JSON; a <see cref="JsonElement"/> exactly as it was written.</summary>
    /// <exception cref="ArgumentException">The value cannot be written as JSON (a cycle, a type the serializer refuses).</exception>
    public static byte[] Serialize(object value)
    {
        byte[] json;
        if (value is JsonElement element)
        {
            json = Encoding.UTF8.GetBytes(element.GetRawText());
        }
        else
        {
            try
            {
                json = JsonSerializer.SerializeToUtf8Bytes(value, SerializerOptions);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException)
            {
                // The argument is what is wrong, as for every other refusal of these methods (documented: ArgumentException).
                throw new ArgumentException($"the value cannot be written as JSON: {ex.Message}", nameof(value), ex);
            }
        }
        // A JsonElement (alone or inside another value) is written as it was, escapes included: an escaped lone
        // surrogate would reach every client, whose reader throws on it, and hubs on Redis skip such an event
        // (docs/protocol.md 11.3), so a completion carrying one would leave the process running everywhere. Refused
        // as the HTTP API refuses such a body (400). A .NET string's lone surrogate is written as U+FFFD instead.
        if (LoneSurrogates.In(json))
        {
            throw new ArgumentException("a string is not valid Unicode (an escaped lone surrogate)", nameof(value));
        }
        return json;
    }

    public static byte[] Create(long current, long total, string? model, string? detail)
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteNumber("current", current);
            writer.WriteNumber("total", total);
            if (model is not null)
            {
                writer.WriteString("model", model);
            }
            if (detail is not null)
            {
                writer.WriteString("detail", detail);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><see cref="Create"/> for a producer: the object may be at most <paramref name="maxBytes"/>.</summary>
    /// <exception cref="ArgumentException">A <paramref name="model"/> or <paramref name="detail"/> that makes it larger.</exception>
    public static byte[] Create(long current, long total, string? model, string? detail, int maxBytes)
    {
        var bytes = Create(current, total, model, detail);
        if (bytes.Length > maxBytes)
        {
            throw new ArgumentException($"progress is larger than {maxBytes} bytes (model and detail included)");
        }
        return bytes;
    }

    /// <summary>A producer's parameters as JSON (null for none), at most <paramref name="maxBytes"/>.</summary>
    /// <exception cref="ArgumentException">The parameters are larger than the limit.</exception>
    public static byte[]? Params(object? parameters, int maxBytes, bool namesChecked = false)
    {
        byte[]? json = parameters switch
        {
            null => null,
            JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
            _ => Serialize(parameters),
        };
        if (json is not null && json.Length > maxBytes)
        {
            throw new ArgumentException($"params is larger than {maxBytes} bytes", nameof(parameters));
        }
        CheckDepth(json, "params");
        CheckNames(json, "params", namesChecked);
        return json;
    }

    /// <summary>A producer's error: <paramref name="message"/> at most <paramref name="maxMessageBytes"/> of UTF-8, the code at most 64 characters.</summary>
    /// <exception cref="ArgumentException">The message or the code is too long.</exception>
    public static byte[] ProducerError(string message, string? code, int maxMessageBytes)
    {
        if (Encoding.UTF8.GetByteCount(message) > maxMessageBytes)
        {
            throw new ArgumentException($"error.message is larger than {maxMessageBytes} bytes", nameof(message));
        }
        if (code is not null && FieldLimits.HasMoreCharactersThan(code, FieldLimits.MaxErrorCodeLength))
        {
            throw new ArgumentException($"error.code must be at most {FieldLimits.MaxErrorCodeLength} characters", nameof(code));
        }
        return Error(message, code);
    }

    /// <summary>Whether a JSON value is a count: an integer from 0 to <see cref="long.MaxValue"/>, written as one.</summary>
    public static bool IsCount(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long number) && number >= 0;

    /// <summary>
    /// What is wrong with a value that is not a count (<see cref="IsCount"/>). A whole number written with a decimal
    /// point or an exponent is named with what to send instead: Python's <c>json.dumps</c> writes a float 3 as
    /// <c>3.0</c>, and "must be an integer" alone reads as nonsense to someone who sent three.
    /// </summary>
    public static string CountProblem(string name, JsonElement value) =>
        $"{name} must be an integer from 0 to {long.MaxValue}" + WholeNumberHint(value);

    /// <summary>
    /// For a whole number written with a decimal point or an exponent (<c>3.0</c>, <c>1e3</c>), what to send instead
    /// (" (3.0 has a decimal point or an exponent: send 3)"); empty for any other value.
    /// </summary>
    public static string WholeNumberHint(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && WholeCount(value.GetRawText()) is { } whole)
        {
            string written = value.GetRawText();
            if (written.Length > 24)
            {
                written = written[..23] + "…";
            }
            return $" ({written} has a decimal point or an exponent: send {whole.ToString(System.Globalization.CultureInfo.InvariantCulture)})";
        }
        return "";
    }

    /// <summary>
    /// The count a JSON number's text stands for exactly, if it is a whole number from 0 to <see cref="long.MaxValue"/>.
    /// Decided on the digits, not on a double: 3.0000000000000000001 is no whole number, though it rounds to one, and
    /// 9223372036854775807.0 is one, though a double cannot hold it.
    /// </summary>
    private static long? WholeCount(string number)
    {
        int exponentAt = number.IndexOfAny(['e', 'E']);
        string mantissa = exponentAt < 0 ? number : number[..exponentAt];
        bool negative = mantissa.StartsWith('-');
        int point = mantissa.IndexOf('.', StringComparison.Ordinal);
        string integral = (point < 0 ? mantissa : mantissa[..point]).TrimStart('-');
        string fraction = point < 0 ? "" : mantissa[(point + 1)..];
        // The number is digits x 10^scale, with the digits' leading and trailing zeros taken off.
        string digits = (integral + fraction).TrimStart('0');
        if (digits.Length == 0)
        {
            return 0; // 0.0, -0.0, 0e5: zero
        }
        if (negative)
        {
            return null;
        }
        string exponentText = exponentAt < 0 ? "0" : number[(exponentAt + 1)..];
        if (!long.TryParse(exponentText, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long exponent)
            || exponent is < -1_000_000 or > 1_000_000)
        {
            return null; // an exponent no count has (1e-400 is no whole number, 1e400 no count)
        }
        long scale = exponent - fraction.Length;
        string significant = digits.TrimEnd('0');
        scale += digits.Length - significant.Length;
        if (scale < 0 || significant.Length + scale > 19)
        {
            return null; // a fraction left, or 10^19 and more: past long.MaxValue
        }
        var value = System.Numerics.BigInteger.Parse(significant, System.Globalization.CultureInfo.InvariantCulture) * System.Numerics.BigInteger.Pow(10, (int)scale);
        return value <= long.MaxValue ? (long)value : null;
    }

    /// <summary>A producer's own progress object: current/total integers required, the rest kept verbatim.</summary>
    /// <param name="namesChecked">The HTTP API's bodies were parsed refusing repeated names already; the in-process API's are checked here.</param>
    public static byte[] Validate(JsonElement progress, int maxBytes, bool namesChecked = false)
    {
        if (progress.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("progress must be a JSON object");
        }
        foreach (var name in (ReadOnlySpan<string>)["current", "total"])
        {
            if (!progress.TryGetProperty(name, out var value))
            {
                throw new ArgumentException($"progress.{name} is required: an integer from 0 to {long.MaxValue}");
            }
            if (!IsCount(value))
            {
                throw new ArgumentException(CountProblem($"progress.{name}", value));
            }
        }
        var bytes = Serialize(progress);
        if (bytes.Length > maxBytes)
        {
            throw new ArgumentException($"progress is larger than {maxBytes} bytes");
        }
        CheckDepth(bytes, "progress");
        CheckNames(bytes, "progress", namesChecked);
        return bytes;
    }

    /// <summary>A result as JSON (null for none), at most <paramref name="maxBytes"/>.</summary>
    /// <exception cref="ArgumentException">The result is larger than the limit.</exception>
    public static byte[]? Result(object? result, int maxBytes, bool namesChecked = false)
    {
        byte[]? json = result switch
        {
            null => null,
            JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
            _ => Serialize(result),
        };
        if (json is not null && json.Length > maxBytes)
        {
            throw new ArgumentException($"result is larger than {maxBytes} bytes", nameof(result));
        }
        CheckDepth(json, "result");
        CheckNames(json, "result", namesChecked);
        return json;
    }

    /// <summary>
    /// How deep a producer's JSON may nest: the HTTP API's bodies may nest 32 levels in all, so nothing an HTTP worker
    /// sends is deeper. An in-process producer's JsonElement could be (64 levels), and a restart, which reads the
    /// last event of every running process back, then failed on the file at every start.
    /// </summary>
    public const int MaxDepth = 32;

    private static void CheckDepth(byte[]? json, string what)
    {
        if (json is null)
        {
            return;
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            while (reader.Read())
            {
            }
        }
        catch (JsonException)
        {
            throw new ArgumentException($"{what} is nested deeper than {MaxDepth} levels");
        }
    }

    private static readonly JsonDocumentOptions NoRepeatedNames = new() { MaxDepth = MaxDepth, AllowDuplicateProperties = false };

    /// <summary>
    /// A JsonElement (or a JsonDocument, a JsonNode, an object holding one) is passed on as written, and may name a
    /// member twice; the hub would check one copy and clients read another (docs/protocol.md decision 66). Checked for
    /// whatever the in-process API is given; the HTTP API refused such bodies already.
    /// </summary>
    private static void CheckNames(byte[]? json, string what, bool alreadyChecked)
    {
        if (json is null || alreadyChecked)
        {
            return;
        }
        try
        {
            using var _ = JsonDocument.Parse(json, NoRepeatedNames);
        }
        catch (JsonException)
        {
            throw new ArgumentException($"{what} repeats a member name in an object");
        }
        catch (InvalidOperationException)
        {
            // Comparing names unescapes them: one that escapes a lone surrogate cannot be.
            throw new ArgumentException($"{what} holds a name that is not valid Unicode (an escaped lone surrogate)");
        }
    }

    public static byte[] Error(string message, string? code)
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("message", message);
            if (code is not null)
            {
                writer.WriteString("code", code);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
