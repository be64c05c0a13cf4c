using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ProcessHub.Outbound;

namespace ProcessHub.Hub;

/// <summary>
/// Serializes every server-to-client message (PROTOCOL.md section 3) straight into a <see cref="SharedFrame"/> with
/// a reused <see cref="Utf8JsonWriter"/>: an event is written once, whatever the number of its receivers.
/// </summary>
internal static class HubMessageWriter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Text frames are UTF-8: non-ASCII model names and details go out as they came, not as \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText ProcessIdName = JsonEncodedText.Encode("process_id");
    private static readonly JsonEncodedText ProcessTypeName = JsonEncodedText.Encode("process_type");
    private static readonly JsonEncodedText SeqName = JsonEncodedText.Encode("seq");
    private static readonly JsonEncodedText ProgressName = JsonEncodedText.Encode("progress");
    private static readonly JsonEncodedText TimestampName = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText OwnerName = JsonEncodedText.Encode("owner");
    private static readonly JsonEncodedText ParamsName = JsonEncodedText.Encode("params");
    private static readonly JsonEncodedText ResultName = JsonEncodedText.Encode("result");
    private static readonly JsonEncodedText ErrorName = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText DurationName = JsonEncodedText.Encode("duration_ms");
    private static readonly JsonEncodedText CancelledByName = JsonEncodedText.Encode("cancelled_by");
    private static readonly JsonEncodedText RequestIdName = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText StartedAtName = JsonEncodedText.Encode("started_at");
    private static readonly JsonEncodedText EndedAtName = JsonEncodedText.Encode("ended_at");
    private static readonly JsonEncodedText OmittedName = JsonEncodedText.Encode("omitted");
    private static readonly byte[] UnknownError = "{\"message\":\"failed\"}"u8.ToArray();

    private static readonly JsonEncodedText Started = JsonEncodedText.Encode("process_started");
    private static readonly JsonEncodedText Progress = JsonEncodedText.Encode("process_progress");
    private static readonly JsonEncodedText Completed = JsonEncodedText.Encode("process_completed");
    private static readonly JsonEncodedText Failed = JsonEncodedText.Encode("process_failed");
    private static readonly JsonEncodedText Cancelled = JsonEncodedText.Encode("process_cancelled");

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static string StatusText(ProcessStatus status) => status switch
    {
        ProcessStatus.Running => "running",
        ProcessStatus.Completed => "completed",
        ProcessStatus.Failed => "failed",
        _ => "cancelled",
    };

    /// <summary>The event that made the process's current <see cref="ProcessRecord.Seq"/>; call under its lock.</summary>
    public static SharedFrame ProcessEvent(ProcessRecord process, HubEventKind kind, DateTimeOffset timestamp, string? cancelledBy = null)
    {
        var frame = SharedFrame.Rent(kind == HubEventKind.Progress ? FrameKind.Progress : FrameKind.Essential, process.CoalesceKey);
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(Type, kind switch
        {
            HubEventKind.Started => Started,
            HubEventKind.Progress => Progress,
            HubEventKind.Completed => Completed,
            HubEventKind.Failed => Failed,
            _ => Cancelled,
        });
        writer.WriteString(ProcessIdName, process.Id);
        writer.WriteString(ProcessTypeName, process.Type);
        writer.WriteNumber(SeqName, process.Seq);
        switch (kind)
        {
            case HubEventKind.Started:
                writer.WritePropertyName(ProgressName);
                writer.WriteRawValue(process.ProgressJson, skipInputValidation: true);
                writer.WriteString(OwnerName, process.Owner);
                if (process.ParamsJson is not null)
                {
                    writer.WritePropertyName(ParamsName);
                    writer.WriteRawValue(process.ParamsJson, skipInputValidation: true);
                }
                break;
            case HubEventKind.Progress:
                writer.WritePropertyName(ProgressName);
                writer.WriteRawValue(process.ProgressJson, skipInputValidation: true);
                break;
            case HubEventKind.Completed:
                if (process.ResultJson is not null)
                {
                    writer.WritePropertyName(ResultName);
                    writer.WriteRawValue(process.ResultJson, skipInputValidation: true);
                }
                WriteDuration(writer, process);
                break;
            case HubEventKind.Failed:
                writer.WritePropertyName(ErrorName);
                writer.WriteRawValue(process.ErrorJson ?? UnknownError, skipInputValidation: true);
                WriteDuration(writer, process);
                break;
            default:
                writer.WriteString(CancelledByName, cancelledBy);
                WriteDuration(writer, process);
                break;
        }
        WriteTimestamp(writer, TimestampName, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    /// <summary>
    /// What the <c>params</c> and <c>result</c> of one <c>process_list</c> may add up to. A connection's outbound limit
    /// (1 MiB by default) must hold the whole list, and the retention window can keep hundreds of ended processes with
    /// results of up to 64 KiB each; past the budget an entry names what it left out in <c>omitted</c>.
    /// </summary>
    public const int ListDetailBudgetBytes = 256 * 1024;

    /// <summary><c>process_list</c>: the epoch and every process the user may see (in start order).</summary>
    public static SharedFrame ProcessList(string epoch, IReadOnlyList<ProcessSnapshot> processes, DateTimeOffset timestamp)
    {
        // The newest processes get the budget first: they are the ones a tab is most likely showing.
        var details = ArrayPool<Details>.Shared.Rent(processes.Count);
        long budget = ListDetailBudgetBytes;
        for (int i = processes.Count - 1; i >= 0; i--)
        {
            details[i] = Details.None;
            if (processes[i].ParamsJson is { } parameters && parameters.Length <= budget)
            {
                budget -= parameters.Length;
                details[i] |= Details.Params;
            }
            if (processes[i].ResultJson is { } result && result.Length <= budget)
            {
                budget -= result.Length;
                details[i] |= Details.Result;
            }
        }

        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(Type, "process_list");
        writer.WriteString("epoch", epoch);
        writer.WriteStartArray("processes");
        for (int i = 0; i < processes.Count; i++)
        {
            WriteSnapshot(writer, processes[i], details[i]);
        }
        ArrayPool<Details>.Shared.Return(details);
        writer.WriteEndArray();
        WriteTimestamp(writer, TimestampName, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    /// <summary><c>subscribed</c>: the reply to <c>subscribe</c>, written before the replay it announces.</summary>
    public static SharedFrame Subscribed(string processId, ProcessSnapshot? process, string epoch, int replayed, bool recovered, string? requestId, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(Type, "subscribed");
        writer.WriteString(ProcessIdName, processId);
        writer.WriteString("epoch", epoch);
        if (process is { } snapshot)
        {
            writer.WritePropertyName("process");
            WriteSnapshot(writer, snapshot, Details.All);
        }
        writer.WriteNumber("replayed", replayed);
        writer.WriteBoolean("recovered", recovered);
        WriteRequestId(writer, requestId);
        WriteTimestamp(writer, TimestampName, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    public static SharedFrame Unsubscribed(string processId, string? requestId, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(Type, "unsubscribed");
        writer.WriteString(ProcessIdName, processId);
        WriteRequestId(writer, requestId);
        WriteTimestamp(writer, TimestampName, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    public static SharedFrame Pong(string? requestId, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(Type, "pong");
        WriteRequestId(writer, requestId);
        WriteTimestamp(writer, TimestampName, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    /// <summary><c>error</c>: code, message, and the request's <c>request_id</c>/<c>process_id</c> when it had them.</summary>
    public static SharedFrame Error(string code, string message, string? requestId, string? processId, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(Type, "error");
        writer.WriteString("code", code);
        writer.WriteString("message", message);
        WriteRequestId(writer, requestId);
        if (processId is not null)
        {
            writer.WriteString(ProcessIdName, processId);
        }
        WriteTimestamp(writer, TimestampName, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    /// <summary>A process as JSON on its own (the HTTP API's <c>GET /api/processes/{id}</c>).</summary>
    public static byte[] SnapshotJson(ProcessSnapshot snapshot)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(buffer, WriterOptions);
        WriteSnapshot(writer, snapshot, Details.All);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the RFC 3339 UTC timestamp with milliseconds, e.g. 2026-02-17T14:30:00.123Z, without allocating.</summary>
    public static void WriteTimestamp(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset timestamp)
    {
        Span<byte> text = stackalloc byte[32];
        timestamp.UtcDateTime.TryFormat(text, out int written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        writer.WriteString(name, text[..written]);
    }

    /// <summary>
    /// A process as <c>process_list</c> shows it: with what a tab needs to show an ended process as a live tab did
    /// (<c>result</c> or <c>error</c>, <c>cancelled_by</c>, <c>duration_ms</c>) and its <c>params</c>; what
    /// <paramref name="included"/> leaves out is named in <c>omitted</c> (<c>GET /api/processes/{id}</c> has it all).
    /// </summary>
    private static void WriteSnapshot(Utf8JsonWriter writer, in ProcessSnapshot process, Details included)
    {
        writer.WriteStartObject();
        writer.WriteString(ProcessIdName, process.ProcessId);
        writer.WriteString(ProcessTypeName, process.ProcessType);
        writer.WriteString("status", StatusText(process.Status));
        writer.WriteString(OwnerName, process.Owner);
        writer.WritePropertyName(ProgressName);
        writer.WriteRawValue(process.ProgressJson, skipInputValidation: true);
        writer.WriteNumber(SeqName, process.Seq);
        WriteTimestamp(writer, StartedAtName, process.StartedAt);
        if (process.EndedAt is { } ended)
        {
            WriteTimestamp(writer, EndedAtName, ended);
        }
        if (process.ErrorJson is not null)
        {
            writer.WritePropertyName(ErrorName);
            writer.WriteRawValue(process.ErrorJson, skipInputValidation: true);
        }
        if (process.EndedAt is { } end)
        {
            // The same arithmetic as the terminal event's duration_ms, so a reloaded tab shows the same number.
            writer.WriteNumber(DurationName, (long)(end - process.StartedAt).TotalMilliseconds);
        }
        if (process.CancelledBy is not null)
        {
            writer.WriteString(CancelledByName, process.CancelledBy);
        }
        bool paramsLeftOut = process.ParamsJson is not null && (included & Details.Params) == 0;
        bool resultLeftOut = process.ResultJson is not null && (included & Details.Result) == 0;
        if (process.ParamsJson is not null && !paramsLeftOut)
        {
            writer.WritePropertyName(ParamsName);
            writer.WriteRawValue(process.ParamsJson, skipInputValidation: true);
        }
        if (process.ResultJson is not null && !resultLeftOut)
        {
            writer.WritePropertyName(ResultName);
            writer.WriteRawValue(process.ResultJson, skipInputValidation: true);
        }
        if (paramsLeftOut || resultLeftOut)
        {
            writer.WriteStartArray(OmittedName);
            if (paramsLeftOut)
            {
                writer.WriteStringValue(ParamsName);
            }
            if (resultLeftOut)
            {
                writer.WriteStringValue(ResultName);
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    private static void WriteDuration(Utf8JsonWriter writer, ProcessRecord process)
    {
        var ended = process.EndedAt ?? DateTimeOffset.UtcNow;
        writer.WriteNumber(DurationName, (long)(ended - process.StartedAt).TotalMilliseconds);
    }

    private static void WriteRequestId(Utf8JsonWriter writer, string? requestId)
    {
        if (requestId is not null)
        {
            writer.WriteString(RequestIdName, requestId);
        }
    }

    private static Utf8JsonWriter Begin(IBufferWriter<byte> output)
    {
        var writer = t_writer ??= new Utf8JsonWriter(output, WriterOptions);
        writer.Reset(output);
        return writer;
    }

    private static SharedFrame Seal(Utf8JsonWriter writer, SharedFrame frame)
    {
        writer.Flush();
        writer.Reset();
        frame.SealText();
        return frame;
    }

    /// <summary>Which of a process's larger fields a <c>process_list</c> entry carries.</summary>
    [Flags]
    private enum Details : byte
    {
        None = 0,
        Params = 1,
        Result = 2,
        All = Params | Result,
    }
}
