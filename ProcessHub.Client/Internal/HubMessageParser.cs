using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>
/// One hub message into its typed event (docs/protocol.md section 3). Lenient: a message that lacks what its type
/// needs becomes an <see cref="UnknownHubMessage"/>, so a newer or odd hub never breaks a watcher.
/// </summary>
internal static class HubMessageParser
{
    public static HubEvent Parse(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        // Clone-free: ParseValue builds a document the event keeps; nothing here needs disposing.
        var root = JsonElement.ParseValue(ref reader);
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("a hub message is a JSON object");
        }
        string type = JsonFields.String(root, "type") ?? "";
        return type switch
        {
            "process_list" => (HubEvent?)List(root) ?? Unknown(root, type),
            "process_started" or "process_progress" or "process_completed" or "process_failed" or "process_cancelled" => (HubEvent?)Event(root, type) ?? Unknown(root, type),
            "error" => new HubError(root, JsonFields.String(root, "code") ?? "", JsonFields.String(root, "message") ?? "",
                JsonFields.String(root, "request_id"), JsonFields.String(root, "process_id")),
            "subscribed" => (HubEvent?)Subscribed(root) ?? Unknown(root, type),
            _ => Unknown(root, type),
        };
    }

    private static UnknownHubMessage Unknown(JsonElement root, string type) => new(root, type);

    private static ProcessListed? List(JsonElement root)
    {
        if (JsonFields.String(root, "epoch") is not { } epoch
            || !root.TryGetProperty("processes", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var processes = new List<ProcessInfo>(array.GetArrayLength());
        foreach (var entry in array.EnumerateArray())
        {
            if (Entry(entry) is { } process)
            {
                processes.Add(process);
            }
        }
        return new ProcessListed(root, epoch, processes, JsonFields.Time(root, "timestamp") ?? default);
    }

    internal static ProcessInfo? Entry(JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object
            || JsonFields.String(entry, "process_id") is not { } id
            || JsonFields.Long(entry, "seq") is not { } seq)
        {
            return null;
        }
        var status = JsonFields.String(entry, "status") switch
        {
            "completed" => ProcessState.Completed,
            "failed" => ProcessState.Failed,
            "cancelled" => ProcessState.Cancelled,
            _ => ProcessState.Running,
        };
        var error = JsonFields.Value(entry, "error");
        return new ProcessInfo(id, JsonFields.String(entry, "process_type") ?? "", status, JsonFields.String(entry, "owner") ?? "",
            Progress(entry), seq, JsonFields.Time(entry, "started_at") ?? default, JsonFields.Time(entry, "ended_at"),
            error is { ValueKind: JsonValueKind.Object } e ? JsonFields.String(e, "message") : null,
            error is { ValueKind: JsonValueKind.Object } c ? JsonFields.String(c, "code") : null,
            entry);
    }

    private static ProcessEvent? Event(JsonElement root, string type)
    {
        if (JsonFields.String(root, "process_id") is not { } id || JsonFields.Long(root, "seq") is not { } seq)
        {
            return null;
        }
        string processType = JsonFields.String(root, "process_type") ?? "";
        var timestamp = JsonFields.Time(root, "timestamp") ?? default;
        switch (type)
        {
            case "process_started":
                return new ProcessStarted(root, id, processType, seq, timestamp, JsonFields.String(root, "owner") ?? "", Progress(root), JsonFields.Value(root, "params"));
            case "process_progress":
                return new ProcessProgress(root, id, processType, seq, timestamp, Progress(root));
            case "process_completed":
                return new ProcessCompleted(root, id, processType, seq, timestamp, JsonFields.Value(root, "result"), JsonFields.Duration(root));
            case "process_failed":
                var error = JsonFields.Value(root, "error");
                string message = error is { ValueKind: JsonValueKind.Object } e ? JsonFields.String(e, "message") ?? "" : "";
                string? code = error is { ValueKind: JsonValueKind.Object } c ? JsonFields.String(c, "code") : null;
                return new ProcessFailed(root, id, processType, seq, timestamp, message, code, JsonFields.Duration(root));
            default:
                return new ProcessCancelled(root, id, processType, seq, timestamp, JsonFields.String(root, "cancelled_by") ?? "", JsonFields.Duration(root));
        }
    }

    private static ProgressInfo Progress(JsonElement owner)
    {
        if (!owner.TryGetProperty("progress", out var progress) || progress.ValueKind != JsonValueKind.Object)
        {
            progress = default;
            return new ProgressInfo(0, 0, null, null, progress);
        }
        return new ProgressInfo(JsonFields.Long(progress, "current") ?? 0, JsonFields.Long(progress, "total") ?? 0,
            JsonFields.Shown(progress, "model"), JsonFields.Shown(progress, "detail"), progress);
    }

    private static SubscribedReply? Subscribed(JsonElement root) =>
        JsonFields.String(root, "process_id") is { } id
            ? new SubscribedReply(root, id, JsonFields.String(root, "epoch") ?? "", (int)Math.Clamp(JsonFields.Long(root, "replayed") ?? 0, 0, int.MaxValue),
                JsonFields.Bool(root, "recovered") ?? false, JsonFields.String(root, "request_id"))
            : null;
}
