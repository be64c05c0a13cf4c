using System.Collections.Frozen;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// Which processes a connection wants (docs/protocol.md section 4): every visible one (<c>"*"</c>, the start), minus
/// those unsubscribed by id; or only those subscribed by id. Immutable: a change swaps the whole object, so the
/// publisher reads it without a lock.
/// </summary>
internal sealed class Interest
{
    public static readonly Interest Everything = new(true, FrozenSet<string>.Empty);
    public static readonly Interest Nothing = new(false, FrozenSet<string>.Empty);

    private readonly bool _wildcard;
    private readonly FrozenSet<string> _exceptions; // excluded ids with the wildcard, included ids without it

    private Interest(bool wildcard, FrozenSet<string> exceptions)
    {
        _wildcard = wildcard;
        _exceptions = exceptions;
    }

    public bool Includes(string processId) =>
        _wildcard ? _exceptions.Count == 0 || !_exceptions.Contains(processId) : _exceptions.Contains(processId);

    /// <summary>The ids named by subscribes (without the wildcard) or unsubscribes (with it).</summary>
    internal int ExceptionCount => _exceptions.Count;

    /// <param name="isGone">
    /// Ids of processes the hub has let go are dropped while the set is rebuilt anyway: a connection subscribing to
    /// (or unsubscribing from) process after process kept every id for its whole life, and rebuilt them all each time.
    /// </param>
    public Interest With(string processId, Func<string, bool>? isGone = null) => _wildcard
        ? new Interest(true, Rebuilt(_exceptions, isGone, removed: processId))
        : new Interest(false, Rebuilt(_exceptions, isGone, added: processId));

    /// <inheritdoc cref="With"/>
    public Interest WithoutProcess(string processId, Func<string, bool>? isGone = null) => _wildcard
        ? new Interest(true, Rebuilt(_exceptions, isGone, added: processId))
        : new Interest(false, Rebuilt(_exceptions, isGone, removed: processId));

    private static FrozenSet<string> Rebuilt(FrozenSet<string> set, Func<string, bool>? isGone, string? added = null, string? removed = null)
    {
        var kept = set.Where(id => id != removed && (isGone is null || !isGone(id)));
        return (added is null ? kept : kept.Append(added)).ToFrozenSet(StringComparer.Ordinal);
    }
}
