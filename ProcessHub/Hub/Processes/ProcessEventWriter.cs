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
        writer.WriteStartObject();
        writer.WriteString(FrameJson.Type, HubEventNames.Encoded(kind));
        writer.WriteString(FrameJson.ProcessId, process.Id);
        writer.WriteString(FrameJson.ProcessType, process.Type);
        writer.WriteNumber(FrameJson.Seq, state.Seq);
        switch (kind)
        {
            case HubEventKind.Started:
                writer.WritePropertyName(FrameJson.Progress);
                writer.WriteRawValue(state.ProgressJson, skipInputValidation: true);
                writer.WriteString(FrameJson.Owner, process.Owner);
                if (process.ParamsJson is not null)
                {
                    writer.WritePropertyName(FrameJson.Params);
                    writer.WriteRawValue(process.ParamsJson, skipInputValidation: true);
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
                WriteDuration(writer, process.StartedAt, state);
                break;
            case HubEventKind.Failed:
                writer.WritePropertyName(FrameJson.Error);
                writer.WriteRawValue(state.ErrorJson ?? UnknownError, skipInputValidation: true);
                WriteDuration(writer, process.StartedAt, state);
                break;
            default:
                writer.WriteString(FrameJson.CancelledBy, state.CancelledBy);
                WriteDuration(writer, process.StartedAt, state);
                break;
        }
        FrameJson.WriteTimestamp(writer, FrameJson.Timestamp, timestamp);
        writer.WriteEndObject();
        return FrameJson.Seal(writer, frame);
    }

    private static void WriteDuration(Utf8JsonWriter writer, DateTimeOffset startedAt, ProcessState state)
    {
        var ended = state.EndedAt ?? state.LastChangedAt;
        writer.WriteNumber(FrameJson.Duration, (long)(ended - startedAt).TotalMilliseconds);
    }
}
