using System.Text.Json;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;

namespace ProcessHub;

/// <summary>
/// Drives one process. Every report is one event with the next <c>seq</c>, acknowledged once it is durable and
/// delivered; once the process has ended (completed, failed, or cancelled from any tab) further reports return
/// <see cref="ReportResult.AlreadyEnded"/>. The synchronous methods wait for the asynchronous ones.
/// </summary>
public sealed class ProcessHandle
{
    private readonly IProcessEngine _engine;
    private readonly ProcessRegistry _registry;
    private readonly HubOptions _options;

    internal ProcessHandle(IProcessEngine engine, ProcessRegistry registry, HubOptions options, string processId, string processType, string owner, CancellationToken cancellationToken)
    {
        _engine = engine;
        _registry = registry;
        _options = options;
        ProcessId = processId;
        ProcessType = processType;
        Owner = owner;
        CancellationToken = cancellationToken;
    }

    public string ProcessId { get; }
    public string ProcessType { get; }
    public string Owner { get; }

    /// <summary>
    /// Fires when a client cancels the process (it is already marked cancelled then, and no tab has seen it yet), or
    /// when the process is gone from under its producer (hubs on Redis whose Redis lost its data: a new epoch).
    /// </summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>True once the process has ended (or was forgotten after the retention window).</summary>
    public bool IsEnded => _registry.Find(ProcessId)?.IsEnded ?? true;

    /// <summary>False once this hub no longer holds the process: forgotten after the retention window, or gone with a new epoch.</summary>
    internal bool IsHeld => _registry.Find(ProcessId) is not null;

    /// <summary>Reports progress in the seed's form: <c>{"current", "total", "model"?, "detail"?}</c>, at most 4 KiB in all.</summary>
    /// <exception cref="ArgumentException">A negative number, or a model and detail that make the object larger than 4 KiB.</exception>
    public ValueTask<ReportResult> ReportProgressAsync(long current, long total, string? model = null, string? detail = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(current);
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return ApplyAsync(ProcessChange.Progress(ProgressJson.Create(current, total, model, detail, _options.MaxProgressBytes)));
    }

    /// <summary>
    /// Reports a progress object of the producer's own: <c>current</c> and <c>total</c> (integers) are required, any
    /// other fields are passed on verbatim. At most 4 KiB.
    /// </summary>
    /// <exception cref="ArgumentException">The object is not valid progress.</exception>
    public ValueTask<ReportResult> ReportProgressAsync(JsonElement progress) =>
        ApplyAsync(ProcessChange.Progress(ProgressJson.Validate(progress, _options.MaxProgressBytes)));

    /// <summary>Ends the process successfully with an optional JSON-serializable result (at most 64 KiB).</summary>
    /// <exception cref="ArgumentException">The result is larger than the limit.</exception>
    public ValueTask<ReportResult> CompleteAsync(object? result = null) =>
        ApplyAsync(ProcessChange.Complete(ProgressJson.Result(result, _options.MaxResultBytes)));

    /// <summary>Ends the process as failed: <c>{"message", "code"?}</c>; the message at most 4 KiB, the code 64 characters.</summary>
    /// <exception cref="ArgumentException">The message is empty or too long, or the code is blank (null is none) or too long.</exception>
    public ValueTask<ReportResult> FailAsync(string message, string? code = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        if (code is not null)
        {
            // As over HTTP (error.code must be a non-empty string): a blank code stored "code":" " for every tab.
            ArgumentException.ThrowIfNullOrWhiteSpace(code);
        }
        return ApplyAsync(ProcessChange.Fail(ProgressJson.ProducerError(message, code, _options.MaxErrorMessageBytes)));
    }

    /// <summary>Cancels the process as <paramref name="cancelledBy"/> would from a WebSocket.</summary>
    /// <exception cref="ArgumentException"><paramref name="cancelledBy"/> is null, blank or longer than a user name may be (256 bytes).</exception>
    public ValueTask<ReportResult> CancelAsync(string cancelledBy)
    {
        // Who cancelled is a user, as a token's sub is: a null sent process_cancelled without cancelled_by.
        ArgumentException.ThrowIfNullOrWhiteSpace(cancelledBy);
        if (FieldLimits.IsLongerThanAUserName(cancelledBy))
        {
            throw new ArgumentException($"cancelledBy must be at most {FieldLimits.MaxOwnerBytes} bytes", nameof(cancelledBy));
        }
        return ApplyAsync(ProcessChange.Cancel(cancelledBy));
    }

    /// <inheritdoc cref="ReportProgressAsync(long, long, string?, string?)"/>
    public ReportResult ReportProgress(long current, long total, string? model = null, string? detail = null) => Wait(ReportProgressAsync(current, total, model, detail));

    /// <inheritdoc cref="ReportProgressAsync(JsonElement)"/>
    public ReportResult ReportProgress(JsonElement progress) => Wait(ReportProgressAsync(progress));

    /// <inheritdoc cref="CompleteAsync"/>
    public ReportResult Complete(object? result = null) => Wait(CompleteAsync(result));

    /// <inheritdoc cref="FailAsync"/>
    public ReportResult Fail(string message, string? code = null) => Wait(FailAsync(message, code));

    /// <inheritdoc cref="CancelAsync"/>
    public ReportResult Cancel(string cancelledBy) => Wait(CancelAsync(cancelledBy));

    /// <summary>The result of an operation that usually completed already (the memory store), waiting only when it did not.</summary>
    internal static T Wait<T>(ValueTask<T> operation) =>
        operation.IsCompletedSuccessfully ? operation.Result : operation.AsTask().GetAwaiter().GetResult();

    private async ValueTask<ReportResult> ApplyAsync(ProcessChange change)
    {
        var outcome = await _engine.ApplyAsync(ProcessId, change).ConfigureAwait(false);
        return outcome.Accepted ? ReportResult.Accepted : ReportResult.AlreadyEnded;
    }
}
