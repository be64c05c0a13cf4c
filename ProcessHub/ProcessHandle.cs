using System.Text.Json;
using ProcessHub.Hub;

namespace ProcessHub;

/// <summary>
/// Drives one process. Every report is one event with the next <c>seq</c>; once the process has ended (completed,
/// failed, or cancelled from any tab) further reports return <see cref="ReportResult.AlreadyEnded"/>.
/// </summary>
public sealed class ProcessHandle
{
    private readonly ProcessRegistry _registry;
    private readonly ProcessRecord _record;
    private readonly HubOptions _options;

    internal ProcessHandle(ProcessRegistry registry, ProcessRecord record, HubOptions options)
    {
        _registry = registry;
        _record = record;
        _options = options;
    }

    public string ProcessId => _record.Id;
    public string ProcessType => _record.Type;
    public string Owner => _record.Owner;

    /// <summary>Fires when a client sends <c>cancel_process</c> (the process is already marked cancelled then).</summary>
    public CancellationToken CancellationToken => _record.Cancellation.Token;

    public bool IsEnded
    {
        get
        {
            lock (_record.Gate)
            {
                return _record.IsEnded;
            }
        }
    }

    internal ProcessRecord Record => _record;

    /// <summary>Reports progress in the seed's form: <c>{"current", "total", "model"?, "detail"?}</c>.</summary>
    public ReportResult ReportProgress(int current, int total, string? model = null, string? detail = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(current);
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return _registry.ReportProgress(_record, ProgressJson.Create(current, total, model, detail));
    }

    /// <summary>
    /// Reports a progress object of the producer's own: <c>current</c> and <c>total</c> (integers) are required, any
    /// other fields are passed on verbatim. At most 4 KiB.
    /// </summary>
    /// <exception cref="ArgumentException">The object is not valid progress.</exception>
    public ReportResult ReportProgress(JsonElement progress) =>
        _registry.ReportProgress(_record, ProgressJson.Validate(progress, _options.MaxProgressBytes));

    /// <summary>Ends the process successfully with an optional JSON-serializable result (at most 64 KiB).</summary>
    public ReportResult Complete(object? result = null)
    {
        byte[]? json = result switch
        {
            null => null,
            JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
            _ => ProgressJson.Serialize(result),
        };
        if (json is not null && json.Length > _options.MaxResultBytes)
        {
            throw new ArgumentException($"result is larger than {_options.MaxResultBytes} bytes", nameof(result));
        }
        return _registry.Complete(_record, json);
    }

    /// <summary>Ends the process as failed: <c>{"message", "code"?}</c>.</summary>
    public ReportResult Fail(string message, string? code = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        return _registry.Fail(_record, ProgressJson.Error(message, code));
    }

    /// <summary>Cancels the process as <paramref name="cancelledBy"/> would from a WebSocket (used by the HTTP API).</summary>
    public ReportResult Cancel(string cancelledBy) => _registry.Cancel(_record, cancelledBy);
}
