using System.Collections.Concurrent;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>How a process ended, as the hub acknowledged it to its producer.</summary>
internal sealed record EndedProcess(string ProcessId, string Owner, string TerminalType, long TerminalSeq, double EndedAtSeconds);

/// <summary>
/// Every process the soak's producers ended, with the terminal event the hub acknowledged: the reference a tab that
/// stayed connected is checked against (it must have received each of its user's terminal events).
/// </summary>
internal sealed class Ledger
{
    private readonly ConcurrentDictionary<string, EndedProcess> _ended = new(StringComparer.Ordinal);
    private long _started;

    public long Started => Interlocked.Read(ref _started);

    public int EndedCount => _ended.Count;

    public IEnumerable<EndedProcess> Ended => _ended.Values;

    public void CountStart() => Interlocked.Increment(ref _started);

    public void RecordEnd(EndedProcess ended) => _ended[ended.ProcessId] = ended;
}
