using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>One JSON object as UTF-8 bytes, its fields written by the caller (no reflection: trimming-safe).</summary>
internal static class JsonObjectBytes
{
    /// <summary>
    /// Text as it is, not as <c>\u</c> escapes (the hub's own JSON is written so too, docs/protocol.md 3.1): escaped,
    /// each non-ASCII character took 6 bytes where UTF-8 takes 2-3, so 1,000 Chinese characters of detail were refused
    /// as progress larger than 4,096 bytes, and a watcher read the escapes back. JSON sent as a request body is never
    /// put into HTML, which is what the default escapes are for.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
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
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            value.WriteTo(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
