using System.Text.Json;

namespace ProcessHub.Http;

/// <summary>The JSON error body every API error uses: <c>{"error": {"code", "message"}}</c>.</summary>
internal static class HttpErrorBody
{
    public static byte[] Create(string code, string message)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, HttpJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("code", code);
            writer.WriteString("message", message);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }
}
