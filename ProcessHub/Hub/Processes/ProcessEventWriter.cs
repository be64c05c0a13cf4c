using System.Buffers;
using System.Text.Json;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// Serializes the five process events (docs/protocol.md section 3) into a <see cref="SharedFrame"/>, once per event
/// whatever the number of its receivers: the same bytes go to every connection, into the history and to the store.
/// </summary>
internal static class ProcessEventWriter
{
    private static readonly byte[] UnknownError = "{\"message\":\"failed\"}"u8.ToArray();

    /// <summary>The event that made <paramref name="state"/> (its seq); call under the process's lock.</summary>
    public static SharedFrame Write(ProcessRecord process, ProcessState state, HubEventKind kind, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent(kind == HubEventKind.Progress ? FrameKind.Progress : FrameKind.Essential, process.CoalesceKey);
        var writer = FrameJson.Begin(frame);
        WriteEvent(writer, process.Id, process.Type, process.Owner, process.ParamsJson, process.StartedAt, state, kind, timestamp, template: null);
        return FrameJson.Seal(writer, frame);
    }

    /// <summary>
    /// The event's JSON around its seq, for an engine that takes the seq where the event is stored (a script in a
    /// shared store): <c>prefix + seq + suffix</c> is byte for byte what <see cref="Write"/> would have written with
    /// that seq. <paramref name="state"/>'s own seq is ignored.
    /// </summary>
    public static (byte[] Prefix, byte[] Suffix) WriteAroundSeq(string processId, string processType, string owner, byte[]? paramsJson, DateTimeOffset startedAt, ProcessState state, HubEventKind kind, DateTimeOffset timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = FrameJson.Begin(buffer);
        int seqAt = WriteEvent(writer, processId, processType, owner, paramsJson, startedAt, state, kind, timestamp, template: buffer);
        writer.Flush();
        writer.Reset();
        var written = buffer.WrittenSpan;
        // The placeholder seq 0 is one byte, at seqAt.
        return (written[..seqAt].ToArray(), written[(seqAt + 1)..].ToArray());
    }

    /// <summary>
    /// Writes the event. With <paramref name="template"/> (the buffer <paramref name="writer"/> writes to) the seq is a
    /// one-byte placeholder, and its offset in the buffer is returned; otherwise -1.
    /// </summary>
    private static int WriteEvent(Utf8JsonWriter writer, string processId, string processType, string owner, byte[]? paramsJson, DateTimeOffset startedAt, ProcessState state, HubEventKind kind, DateTimeOffset timestamp, ArrayBufferWriter<byte>? template)
    {
        int seqAt = -1;
        writer.WriteStartObject();
        writer.WriteString(FrameJson.Type, HubEventNames.Encoded(kind));
        writer.WriteString(FrameJson.ProcessId, processId);
        writer.WriteString(FrameJson.ProcessType, processType);
        if (template is null)
        {
            writer.WriteNumber(FrameJson.Seq, state.Seq);
        }
        else
        {
            writer.WritePropertyName(FrameJson.Seq);
            writer.Flush();
            seqAt = template.WrittenCount;
            writer.WriteNumberValue(0);
        }
        switch (kind)
        {
            case HubEventKind.Started:
                writer.WritePropertyName(FrameJson.Progress);
                writer.WriteRawValue(state.ProgressJson, skipInputValidation: true);
                writer.WriteString(FrameJson.Owner, owner);
                if (paramsJson is not null)
                {
                    writer.WritePropertyName(FrameJson.Params);
                    writer.WriteRawValue(paramsJson, skipInputValidation: true);
                }
                break;
            case HubEventKind.Progress:
                writer.WritePropertyName(FrameJson.Progress);
                writer.WriteRawValue(state.ProgressJson, skipInputValidation: true);
                break;
            case HubEventKind.Completed:
                if (state.ResultJson is not null)
                {
                    writer.WritePropertyName(FrameJson.Result);
                    writer.WriteRawValue(state.ResultJson, skipInputValidation: true);
                }
                WriteDuration(writer, startedAt, state);
                break;
            case HubEventKind.Failed:
                writer.WritePropertyName(FrameJson.Error);
                writer.WriteRawValue(state.ErrorJson ?? UnknownError, skipInputValidation: true);
                WriteDuration(writer, startedAt, state);
                break;
            default:
                writer.WriteString(FrameJson.CancelledBy, state.CancelledBy);
                WriteDuration(writer, startedAt, state);
                break;
        }
        FrameJson.WriteTimestamp(writer, FrameJson.Timestamp, timestamp);
        writer.WriteEndObject();
        return seqAt;
    }

    private static void WriteDuration(Utf8JsonWriter writer, DateTimeOffset startedAt, ProcessState state)
    {
        var ended = state.EndedAt ?? state.LastChangedAt;
        writer.WriteNumber(FrameJson.Duration, (long)(ended - startedAt).TotalMilliseconds);
    }
}
