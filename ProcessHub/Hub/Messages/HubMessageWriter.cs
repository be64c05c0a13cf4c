using System.Buffers;
using System.Text;
using System.Text.Json;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Messages;

/// <summary>
/// Serializes the server-to-client messages of a session (docs/protocol.md section 3: <c>process_list</c>,
/// <c>subscribed</c>, <c>unsubscribed</c>, <c>pong</c>, <c>error</c>) straight into a <see cref="SharedFrame"/>. The
/// process events themselves are the <see cref="ProcessEventWriter"/>'s.
/// </summary>
internal static class HubMessageWriter
{
    private static readonly JsonEncodedText RequestIdName = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText StartedAtName = JsonEncodedText.Encode("started_at");
    private static readonly JsonEncodedText EndedAtName = JsonEncodedText.Encode("ended_at");
    private static readonly JsonEncodedText OmittedName = JsonEncodedText.Encode("omitted");
    private static readonly JsonEncodedText TruncatedName = JsonEncodedText.Encode("truncated");
    private static readonly JsonEncodedText TotalName = JsonEncodedText.Encode("total");

    public static string StatusText(ProcessStatus status) => FrameJson.StatusText(status);

    /// <summary>
    /// What the <c>params</c> and <c>result</c> of one <c>process_list</c> may add up to. A connection's outbound limit
    /// (1 MiB by default) must hold the whole list, and the retention window can keep hundreds of ended processes with
    /// results of up to 64 KiB each; past the budget an entry names what it left out in <c>omitted</c>.
    /// </summary>
    public const int ListDetailBudgetBytes = 256 * 1024;

    /// <summary>
    /// What the entries of an admin's <c>process_list</c> may add up to, about (their <c>params</c> and <c>result</c> have
    /// the budget above besides). An admin sees every user's processes, which no per-user limit bounds; past this the
    /// list is a view: running processes first (newest first), then the most recently ended, and says
    /// <c>truncated</c> and the <c>total</c>. With the detail budget it stays under the default outbound limit.
    /// </summary>
    public const int AdminListBudgetBytes = 512 * 1024;

    // What an entry's field names, status, seq, timestamps and duration take besides its variable parts (measured
    // at about 220 bytes for a cancelled process; a little more for slack).
    private const int EntryOverheadBytes = 240;

    /// <summary>
    /// <c>process_list</c>: the epoch and the processes the user may see (in start order). With
    /// <paramref name="entryBudgetBytes"/> (an admin's view) the entries stop at about that many bytes, the list
    /// then carrying <c>truncated</c> and <c>total</c>; without it every process is listed. With
    /// <paramref name="retention"/> the list says how long an ended process stays (<c>retention_seconds</c>): the hub
    /// sends nothing when it forgets one, so a client drops ended processes by this rule itself.
    /// </summary>
    public static SharedFrame ProcessList(string epoch, IReadOnlyList<ProcessSnapshot> processes, DateTimeOffset timestamp, int? entryBudgetBytes = null, TimeSpan? retention = null)
    {
        bool[]? listed = entryBudgetBytes is int entryBudget ? SelectWithin(processes, entryBudget) : null;

        // The newest processes get the detail budget first: they are the ones a tab is most likely showing.
        var details = ArrayPool<ListDetails>.Shared.Rent(processes.Count);
        long budget = ListDetailBudgetBytes;
        for (int i = processes.Count - 1; i >= 0; i--)
        {
            details[i] = ListDetails.None;
            if (listed is not null && !listed[i])
            {
                continue;
            }
            if (processes[i].ParamsJson is { } parameters && parameters.Length <= budget)
            {
                budget -= parameters.Length;
                details[i] |= ListDetails.Params;
            }
            if (processes[i].ResultJson is { } result && result.Length <= budget)
            {
                budget -= result.Length;
                details[i] |= ListDetails.Result;
            }
        }

        // FrameKind.List: a list is never held against the outbound byte limit (docs/protocol.md section 5.5): it is
        // bounded by the per-user limits (or the view's budget), and refusing it would lock its user out.
        var frame = SharedFrame.Rent(FrameKind.List);
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(FrameJson.Type, "process_list");
        writer.WriteString("epoch", epoch);
        writer.WriteStartArray("processes");
        int written = 0;
        for (int i = 0; i < processes.Count; i++)
        {
            if (listed is null || listed[i])
            {
                WriteSnapshot(writer, processes[i], details[i]);
                written++;
            }
        }
        ArrayPool<ListDetails>.Shared.Return(details);
        writer.WriteEndArray();
        if (written < processes.Count)
        {
            writer.WriteBoolean(TruncatedName, true);
            writer.WriteNumber(TotalName, processes.Count);
        }
        if (retention is { } kept)
        {
            writer.WriteNumber("retention_seconds", (long)kept.TotalSeconds);
        }
        WriteTimestamp(writer, FrameJson.Timestamp, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    /// <summary>
    /// Which processes a bounded view lists: all when they fit in <paramref name="budgetBytes"/>; otherwise running ones
    /// (newest started first), then ended ones (most recently ended first), as long as they fit. Null means all.
    /// </summary>
    private static bool[]? SelectWithin(IReadOnlyList<ProcessSnapshot> processes, int budgetBytes)
    {
        long total = 0;
        for (int i = 0; i < processes.Count; i++)
        {
            total += EstimateEntryBytes(processes[i]);
        }
        if (total <= budgetBytes)
        {
            return null;
        }
        var order = new int[processes.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        Array.Sort(order, (a, b) => CompareForView(processes[a], processes[b]));
        var listed = new bool[processes.Count];
        long left = budgetBytes;
        foreach (int index in order)
        {
            int size = EstimateEntryBytes(processes[index]);
            if (size > left)
            {
                break;
            }
            left -= size;
            listed[index] = true;
        }
        return listed;
    }

    // Running before ended; among running the newest start first, among ended the latest end first.
    private static int CompareForView(in ProcessSnapshot a, in ProcessSnapshot b)
    {
        if (a.IsEnded != b.IsEnded)
        {
            return a.IsEnded ? 1 : -1;
        }
        return a.IsEnded ? b.EndedAt!.Value.CompareTo(a.EndedAt!.Value) : b.StartedAt.CompareTo(a.StartedAt);
    }

    private static int EstimateEntryBytes(in ProcessSnapshot process) =>
        EntryOverheadBytes + process.ProcessId.Length + process.ProcessType.Length + Encoding.UTF8.GetByteCount(process.Owner)
        + process.ProgressJson.Length + (process.ErrorJson?.Length ?? 0) + (process.CancelledBy is { } by ? Encoding.UTF8.GetByteCount(by) : 0);

    /// <summary>
    /// <c>subscribed</c>: the reply to <c>subscribe</c>, written before the replay it announces; its process carries the
    /// larger fields <paramref name="details"/> names, the others named in <c>omitted</c>.
    /// </summary>
    public static SharedFrame Subscribed(string processId, ProcessSnapshot? process, string epoch, int replayed, bool recovered, string? requestId, DateTimeOffset timestamp, ListDetails details = ListDetails.All)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(FrameJson.Type, "subscribed");
        writer.WriteString(FrameJson.ProcessId, processId);
        writer.WriteString("epoch", epoch);
        if (process is { } snapshot)
        {
            writer.WritePropertyName("process");
            WriteSnapshot(writer, snapshot, details);
        }
        writer.WriteNumber("replayed", replayed);
        writer.WriteBoolean("recovered", recovered);
        WriteRequestId(writer, requestId);
        WriteTimestamp(writer, FrameJson.Timestamp, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    public static SharedFrame Unsubscribed(string processId, string? requestId, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(FrameJson.Type, "unsubscribed");
        writer.WriteString(FrameJson.ProcessId, processId);
        WriteRequestId(writer, requestId);
        WriteTimestamp(writer, FrameJson.Timestamp, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    public static SharedFrame Pong(string? requestId, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(FrameJson.Type, "pong");
        WriteRequestId(writer, requestId);
        WriteTimestamp(writer, FrameJson.Timestamp, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    /// <summary><c>error</c>: code, message, and the request's <c>request_id</c>/<c>process_id</c> when it had them.</summary>
    public static SharedFrame Error(string code, string message, string? requestId, string? processId, DateTimeOffset timestamp)
    {
        var frame = SharedFrame.Rent();
        var writer = Begin(frame);
        writer.WriteStartObject();
        writer.WriteString(FrameJson.Type, "error");
        writer.WriteString("code", code);
        writer.WriteString("message", message);
        WriteRequestId(writer, requestId);
        if (processId is not null)
        {
            writer.WriteString(FrameJson.ProcessId, processId);
        }
        WriteTimestamp(writer, FrameJson.Timestamp, timestamp);
        writer.WriteEndObject();
        return Seal(writer, frame);
    }

    /// <summary>A process as JSON on its own (the HTTP API's <c>GET /api/processes/{id}</c>).</summary>
    public static byte[] SnapshotJson(ProcessSnapshot snapshot)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(buffer, FrameJson.WriterOptions);
        WriteSnapshot(writer, snapshot, ListDetails.All);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A process as <c>process_list</c> shows it: enough for a tab that was not there to show an ended process as a
    /// live tab did (<c>result</c> or <c>error</c>, <c>cancelled_by</c>, <c>duration_ms</c>, <c>params</c>); the larger
    /// fields a list's budget left out are named in <c>omitted</c>.
    /// </summary>
    private static void WriteSnapshot(Utf8JsonWriter writer, in ProcessSnapshot process, ListDetails included)
    {
        writer.WriteStartObject();
        writer.WriteString(FrameJson.ProcessId, process.ProcessId);
        writer.WriteString(FrameJson.ProcessType, process.ProcessType);
        writer.WriteString("status", StatusText(process.Status));
        writer.WriteString(FrameJson.Owner, process.Owner);
        writer.WritePropertyName(FrameJson.Progress);
        writer.WriteRawValue(process.ProgressJson, skipInputValidation: true);
        writer.WriteNumber(FrameJson.Seq, process.Seq);
        WriteTimestamp(writer, StartedAtName, process.StartedAt);
        if (process.EndedAt is { } ended)
        {
            WriteTimestamp(writer, EndedAtName, ended);
        }
        if (process.ErrorJson is not null)
        {
            writer.WritePropertyName(FrameJson.Error);
            writer.WriteRawValue(process.ErrorJson, skipInputValidation: true);
        }
        if (process.EndedAt is { } end)
        {
            // The same arithmetic as the terminal event's duration_ms, so a reloaded tab shows the same number.
            writer.WriteNumber(FrameJson.Duration, (long)(end - process.StartedAt).TotalMilliseconds);
        }
        if (process.CancelledBy is not null)
        {
            writer.WriteString(FrameJson.CancelledBy, process.CancelledBy);
        }
        bool paramsLeftOut = process.ParamsJson is not null && (included & ListDetails.Params) == 0;
        bool resultLeftOut = process.ResultJson is not null && (included & ListDetails.Result) == 0;
        if (process.ParamsJson is not null && !paramsLeftOut)
        {
            writer.WritePropertyName(FrameJson.Params);
            writer.WriteRawValue(process.ParamsJson, skipInputValidation: true);
        }
        if (process.ResultJson is not null && !resultLeftOut)
        {
            writer.WritePropertyName(FrameJson.Result);
            writer.WriteRawValue(process.ResultJson, skipInputValidation: true);
        }
        if (paramsLeftOut || resultLeftOut)
        {
            writer.WriteStartArray(OmittedName);
            if (paramsLeftOut)
            {
                writer.WriteStringValue(FrameJson.Params);
            }
            if (resultLeftOut)
            {
                writer.WriteStringValue(FrameJson.Result);
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    private static void WriteRequestId(Utf8JsonWriter writer, string? requestId)
    {
        if (requestId is not null)
        {
            writer.WriteString(RequestIdName, requestId);
        }
    }

    private static Utf8JsonWriter Begin(SharedFrame frame) => FrameJson.Begin(frame);

    private static SharedFrame Seal(Utf8JsonWriter writer, SharedFrame frame) => FrameJson.Seal(writer, frame);

    private static void WriteTimestamp(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset timestamp) =>
        FrameJson.WriteTimestamp(writer, name, timestamp);
}
