namespace ProcessHub.Auth;

/// <summary>
/// Tokens that passed full validation, keyed by the exact token string (ordinal), so a burst of connections
/// presenting the same token pays for signature checking and claim parsing once and shares one
/// <see cref="UserIdentity"/>. Bounded: when full, expired entries go first, and if none has expired the whole
/// cache is dropped (simple, and costs no more than re-validating what was dropped). Never holds a failed token.
/// </summary>
/// <remarks>
/// Holds token strings, so it must never be logged or exposed. A lookup compares strings only within a hash
/// bucket, and string hashing is randomized per process, so lookups give no useful timing signal about stored tokens.
/// </remarks>
internal sealed class ValidatedTokenCache
{
    private readonly Dictionary<string, ValidatedToken> _entries = new(StringComparer.Ordinal);
    private readonly int _capacity;

    /// <param name="capacity">Most tokens kept at once; 0 disables caching.</param>
    public ValidatedTokenCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _capacity = capacity;
    }

    public int Count
    {
        get
        {
            lock (_entries)
            {
                return _entries.Count;
            }
        }
    }

    // Locking on _entries: a private dictionary that never leaves this class, so no other code can take the same
    // lock, and a dedicated lock object would only add an allocation.
    public bool TryGet(string token, out ValidatedToken entry)
    {
        lock (_entries)
        {
            return _entries.TryGetValue(token, out entry);
        }
    }

    /// <param name="deadBefore">Entries whose expiry is before this can never be valid again and are evicted first.</param>
    public void Add(string token, ValidatedToken entry, DateTime deadBefore)
    {
        if (_capacity == 0)
        {
            return;
        }
        lock (_entries)
        {
            if (_entries.Count >= _capacity && !_entries.ContainsKey(token))
            {
                MakeRoom(deadBefore);
            }
            _entries[token] = entry;
        }
    }

    public void Remove(string token)
    {
        lock (_entries)
        {
            _entries.Remove(token);
        }
    }

    private void MakeRoom(DateTime deadBefore)
    {
        foreach (var (token, entry) in _entries)
        {
            if (entry.Expires < deadBefore)
            {
                _entries.Remove(token); // removal while enumerating is allowed for Dictionary since .NET Core 3.0
            }
        }
        if (_entries.Count >= _capacity)
        {
            _entries.Clear();
        }
    }
}
