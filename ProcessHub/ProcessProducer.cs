using System.Text.Json;
using ProcessHub.Hub;

namespace ProcessHub;

/// <summary>
/// The in-process producer API: start a process and drive it through the returned <see cref="ProcessHandle"/>.
/// Thread-safe. The HTTP producer API and the built-in benchmark runner are thin layers over this.
/// </summary>
/// <example>
/// <code>
/// var run = producer.Start("benchmark", owner: "alice", total: 12);
/// for (int i = 1; i &lt;= 12 &amp;&amp; !run.CancellationToken.IsCancellationRequested; i++)
///     run.ReportProgress(i, 12, model: "GPT-4o", detail: $"Run {i}/12");
/// run.Complete(new { score = 0.93 });
/// </code>
/// </example>
public sealed class ProcessProducer
{
    private readonly ProcessRegistry _registry;
    private readonly HubOptions _options;

    internal ProcessProducer(ProcessRegistry registry, HubOptions options)
    {
        _registry = registry;
        _options = options;
    }

    /// <summary>Starts a process owned by <paramref name="owner"/> (a JWT <c>sub</c>); every tab of that user sees it.</summary>
    /// <param name="processType">What kind of work it is, e.g. <c>benchmark</c>.</param>
    /// <param name="owner">The user who sees and may cancel it.</param>
    /// <param name="total">Steps expected; the initial progress is <c>{"current": 0, "total": total}</c>.</param>
    /// <param name="parameters">Optional JSON-serializable parameters, shown in <c>process_started</c>.</param>
    public ProcessHandle Start(string processType, string owner, int total = 0, object? parameters = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(processType);
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        byte[]? paramsJson = parameters switch
        {
            null => null,
            JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
            _ => ProgressJson.Serialize(parameters),
        };
        var record = _registry.Start(processType, owner, paramsJson, ProgressJson.Create(0, total, null, null));
        return new ProcessHandle(_registry, record, _options);
    }

    /// <summary>A handle on an existing process (the HTTP API drives processes by id), or null.</summary>
    public ProcessHandle? Find(string processId) =>
        _registry.Find(processId) is { } record ? new ProcessHandle(_registry, record, _options) : null;
}
