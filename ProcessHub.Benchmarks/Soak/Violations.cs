using System.Collections.Concurrent;

namespace ProcessHub.Benchmarks.Soak;

/// <summary>Broken invariants, as they are found (the soak fails if there is any), and counters of what happened.</summary>
internal sealed class Violations
{
    private readonly ConcurrentQueue<string> _found = new();
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private int _total;

    public int Count => Volatile.Read(ref _total);

    public IEnumerable<string> Found => _found;

    public IEnumerable<KeyValuePair<string, long>> Tallies => _counts.OrderBy(c => c.Key, StringComparer.Ordinal);

    public void Add(string what)
    {
        // The first hundred tell the story; more would only flood the report.
        if (Interlocked.Increment(ref _total) <= 100)
        {
            _found.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {what}");
        }
    }

    /// <summary>Counts one occurrence of something that happened (an action, an outcome).</summary>
    public void Tally(string what, long by = 1) => _counts.AddOrUpdate(what, by, (_, n) => n + by);

    public long TallyOf(string what) => _counts.GetValueOrDefault(what);
}
