using System.Globalization;
using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>Lenient field reads: a missing or mistyped optional field is null, never an exception.</summary>
internal static class JsonFields
{
    public static string? String(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static long? Long(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long number) ? number : null;

    public static bool? Bool(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    public static JsonElement? Value(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static DateTimeOffset? Time(JsonElement obj, string name) =>
        String(obj, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    public static TimeSpan Duration(JsonElement obj) =>
        Long(obj, "duration_ms") is { } ms ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
}
