using System.Collections.Concurrent;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// A count per owner, safe from any thread, with no entry for an owner at zero (so the map holds only owners that have
/// something counted, and shrinks again when they stop).
/// </summary>
internal sealed class OwnerTally
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public int this[string owner] => _counts.GetValueOrDefault(owner);

    /// <summary>Every owner with a count above zero, and the count (a moment's view).</summary>
    public IEnumerable<KeyValuePair<string, int>> Counts => _counts;

    /// <summary>Adds one unless the owner is already at <paramref name="limit"/>; true when it was added.</summary>
    public bool TryAdd(string owner, int limit)
    {
        while (true)
        {
            if (!_counts.TryGetValue(owner, out int count))
            {
                if (limit <= 0)
                {
                    return false;
                }
                if (_counts.TryAdd(owner, 1))
                {
                    return true;
                }
                continue;
            }
            if (count >= limit)
            {
                return false;
            }
            if (_counts.TryUpdate(owner, count + 1, count))
            {
                return true;
            }
        }
    }

    public void Add(string owner) => _counts.AddOrUpdate(owner, 1, static (_, count) => count + 1);

    /// <summary>Takes one away; the owner's entry goes when it reaches zero.</summary>
    public void Remove(string owner)
    {
        while (_counts.TryGetValue(owner, out int count))
        {
            if (count <= 1 ? _counts.TryRemove(KeyValuePair.Create(owner, count)) : _counts.TryUpdate(owner, count - 1, count))
            {
                return;
            }
        }
    }
}
