using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// What every server message shares (docs/protocol.md section 3): one reused <see cref="Utf8JsonWriter"/> per thread
/// writing straight into a <see cref="SharedFrame"/>, the field names, the timestamp format and the status names.
/// </summary>
internal static class FrameJson
{
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        // Text frames are UTF-8: non-ASCII model names and details go out as they came, not as \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText ProcessId = JsonEncodedText.Encode("process_id");
    public static readonly JsonEncodedText ProcessType = JsonEncodedText.Encode("process_type");
    public static readonly JsonEncodedText Seq = JsonEncodedText.Encode("seq");
    public static readonly JsonEncodedText Progress = JsonEncodedText.Encode("progress");
    public static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    public static readonly JsonEncodedText Owner = JsonEncodedText.Encode("owner");
    public static readonly JsonEncodedText Params = JsonEncodedText.Encode("params");
    public static readonly JsonEncodedText Result = JsonEncodedText.Encode("result");
    public static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    public static readonly JsonEncodedText Duration = JsonEncodedText.Encode("duration_ms");
    public static readonly JsonEncodedText CancelledBy = JsonEncodedText.Encode("cancelled_by");

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static string StatusText(ProcessStatus status) => status switch
    {
        ProcessStatus.Running => "running",
        ProcessStatus.Completed => "completed",
        ProcessStatus.Failed => "failed",
        _ => "cancelled",
    };

    /// <summary>This thread's writer, pointed at <paramref name="output"/>.</summary>
    public static Utf8JsonWriter Begin(IBufferWriter<byte> output)
    {
        var writer = t_writer ??= new Utf8JsonWriter(output, WriterOptions);
        writer.Reset(output);
        return writer;
    }

    /// <summary>Finishes the message and writes the frame header in front of it.</summary>
    public static SharedFrame Seal(Utf8JsonWriter writer, SharedFrame frame)
    {
        writer.Flush();
        writer.Reset();
        frame.SealText();
        return frame;
    }

    /// <summary>Writes the RFC 3339 UTC timestamp with milliseconds, e.g. 2026-02-17T14:30:00.123Z, without allocating.</summary>
    public static void WriteTimestamp(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset timestamp)
    {
        Span<byte> text = stackalloc byte[32];
        timestamp.UtcDateTime.TryFormat(text, out int written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        writer.WriteString(name, text[..written]);
    }
}
