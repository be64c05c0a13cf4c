using System.Text.Json;
using System.Text.Json.Nodes;

namespace ProcessHub.Tests.Api;

/// <summary>Small JSON helpers for assertions.</summary>
internal static class Json
{
    public const string TimestampPattern = @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$";

    public static string[] Keys(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    public static bool DeepEquals(JsonElement a, string b) => JsonNode.DeepEquals(JsonNode.Parse(a.GetRawText()), JsonNode.Parse(b));

    public static string Type(this JsonElement message) => message.GetProperty("type").GetString()!;

    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString()!;

    public static long Long(this JsonElement element, string name) => element.GetProperty(name).GetInt64();
}
