using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>The producer API's request bodies (docs/protocol.md section 1), written without reflection.</summary>
internal static class JsonBodies
{
    public static byte[] Create(string processType, long total, JsonElement? parameters, string? owner) => JsonObjectBytes.Write(writer =>
    {
        writer.WriteString("process_type", processType);
        writer.WriteNumber("total", total);
        if (owner is not null)
        {
            writer.WriteString("owner", owner);
        }
        if (parameters is { } value)
        {
            writer.WritePropertyName("params");
            value.WriteTo(writer);
        }
    });

    public static byte[] Progress(long current, long total, string? model, string? detail) => JsonObjectBytes.Write(writer =>
    {
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
    });

    public static byte[] Complete(JsonElement? result) => JsonObjectBytes.Write(writer =>
    {
        if (result is { } value)
        {
            writer.WritePropertyName("result");
            value.WriteTo(writer);
        }
    });

    public static byte[] Fail(string message, string? code) => JsonObjectBytes.Write(writer =>
    {
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        if (code is not null)
        {
            writer.WriteString("code", code);
        }
        writer.WriteEndObject();
    });

    // Text as it is (see JsonObjectBytes.WriterOptions): the element's raw text is what a body carries.
    private static readonly JsonSerializerOptions SerializerOptions = new() { Encoder = JsonObjectBytes.WriterOptions.Encoder };

    /// <summary>Any object as JSON, through System.Text.Json's reflection (hence the attributes).</summary>
    /// <exception cref="ArgumentException">The value cannot be written as JSON (a cycle, a type the serializer refuses).</exception>
    [RequiresUnreferencedCode("serializes an object of any type by reflection; pass a JsonElement when trimming")]
    [RequiresDynamicCode("serializes an object of any type by reflection; pass a JsonElement when compiling ahead of time")]
    public static JsonElement? ToElement(object? value)
    {
        switch (value)
        {
            case null:
                return null;
            case JsonElement element:
                return element;
        }
        try
        {
            return JsonSerializer.SerializeToElement(value, value.GetType(), SerializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            // The argument is what is wrong, as for every other refusal of the calls that take it (documented: ArgumentException).
            throw new ArgumentException($"the value cannot be written as JSON: {ex.Message}", nameof(value), ex);
        }
    }
}
