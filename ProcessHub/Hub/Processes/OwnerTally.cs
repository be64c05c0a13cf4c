using System.Collections.Concurrent;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// A count per owner, safe from any thread, with no entry for an owner at zero (so the map holds only owners that have
/// something counted, and shrinks again when they stop). Adds and removes commute: a remove may come before its add.
/// </summary>
internal sealed class OwnerTally
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public int this[string owner] => _counts.GetValueOrDefault(owner);

    /// <summary>Every owner whose count is not zero, and the count (a moment's view; below zero only while a remove is ahead of its add).</summary>
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
                if (count + 1 == 0)
                {
                    RemoveIfZero(owner);
                }
                return true;
            }
        }
    }

    public void Add(string owner) => Change(owner, +1);

    /// <summary>Takes one away; the owner's entry goes when it reaches zero.</summary>
    public void Remove(string owner) => Change(owner, -1);

    // An add and the remove that matches it may come in either order (an end accepted, refused by the store and counted
    // back, while a second end is accepted), so a count may be below zero for a moment. Clamped at zero instead, a
    // remove that came first would be lost, and the owner counted one too many for good.
    private void Change(string owner, int delta)
    {
        if (_counts.AddOrUpdate(owner, static (_, delta) => delta, static (_, count, delta) => count + delta, delta) == 0)
        {
            RemoveIfZero(owner);
        }
    }

    // Only if it is still zero: a change that came meanwhile keeps its entry.
    private void RemoveIfZero(string owner) => _counts.TryRemove(KeyValuePair.Create(owner, 0));
}
