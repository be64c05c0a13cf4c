using ProcessHub.Hub;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;

namespace ProcessHub;

/// <summary>
/// The in-process producer API: start a process and drive it through the returned <see cref="ProcessHandle"/>.
/// Thread-safe. The HTTP producer API and the built-in benchmark runner are thin layers over the same engine.
/// A call returns once its event is durable and delivered (docs/protocol.md section 10).
/// </summary>
/// <example>
/// <code>
/// var run = await producer.StartAsync("benchmark", owner: "alice", total: 12);
/// for (int i = 1; i &lt;= 12 &amp;&amp; !run.CancellationToken.IsCancellationRequested; i++)
///     await run.ReportProgressAsync(i, 12, model: "GPT-4o", detail: $"Run {i}/12");
/// await run.CompleteAsync(new { score = 0.93 });
/// </code>
/// </example>
public sealed class ProcessProducer
{
    private readonly IProcessEngine _engine;
    private readonly ProcessRegistry _registry;
    private readonly HubOptions _options;

    internal ProcessProducer(IProcessEngine engine, ProcessRegistry registry, HubOptions options)
    {
        _engine = engine;
        _registry = registry;
        _options = options;
    }

    /// <summary>Starts a process owned by <paramref name="owner"/> (a JWT <c>sub</c>); every tab of that user sees it.</summary>
    /// <param name="processType">What kind of work it is, e.g. <c>benchmark</c>.</param>
    /// <param name="owner">The user who sees and may cancel it.</param>
    /// <param name="total">Steps expected; the initial progress is <c>{"current": 0, "total": total}</c>.</param>
    /// <param name="parameters">Optional JSON-serializable parameters, shown in <c>process_started</c> (at most 16 KiB as JSON).</param>
    /// <exception cref="ArgumentException">
    /// An empty or too long <paramref name="processType"/> (64 characters) or <paramref name="owner"/> (256 bytes), or
    /// parameters larger than the limit (docs/protocol.md section 7.2).
    /// </exception>
    /// <exception cref="ProcessLimitException">The owner already has as many running processes as allowed.</exception>
    public async ValueTask<ProcessHandle> StartAsync(string processType, string owner, long total = 0, object? parameters = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(processType);
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        if (FieldLimits.HasMoreCharactersThan(processType, FieldLimits.MaxProcessTypeLength))
        {
            throw new ArgumentException($"processType must be at most {FieldLimits.MaxProcessTypeLength} characters", nameof(processType));
        }
        if (FieldLimits.IsLongerThanAUserName(owner))
        {
            throw new ArgumentException($"owner must be at most {FieldLimits.MaxOwnerBytes} bytes", nameof(owner));
        }
        byte[]? paramsJson = ProgressJson.Params(parameters, _options.MaxParamsBytes);
        var started = await _engine.StartAsync(new ProcessStart(processType, owner, paramsJson, ProgressJson.Create(0, total, null, null), InProcess: true)).ConfigureAwait(false);
        return new ProcessHandle(_engine, _registry, _options, started.ProcessId, processType, owner, _registry.StartedProducerToken(started.ProcessId));
    }

    /// <summary><see cref="StartAsync"/>, waiting for it.</summary>
    public ProcessHandle Start(string processType, string owner, long total = 0, object? parameters = null) =>
        ProcessHandle.Wait(StartAsync(processType, owner, total, parameters));

    /// <summary>A handle on an existing process, or null. Its cancellation token fires only for processes started here.</summary>
    public ProcessHandle? Find(string processId) =>
        _registry.Find(processId) is { } process
            ? new ProcessHandle(_engine, _registry, _options, process.ProcessId, process.ProcessType, process.Owner, _registry.ProducerToken(processId))
            : null;
}
