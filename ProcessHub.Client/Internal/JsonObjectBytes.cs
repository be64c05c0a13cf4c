using System.Buffers;
using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>One JSON object as UTF-8 bytes, its fields written by the caller (no reflection: trimming-safe).</summary>
internal static class JsonObjectBytes
{
    public static byte[] Write(Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            fields(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Of(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            value.WriteTo(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
