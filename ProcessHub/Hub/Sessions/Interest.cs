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

    public Interest With(string processId) => _wildcard
        ? new Interest(true, Without(_exceptions, processId))
        : new Interest(false, WithAdded(_exceptions, processId));

    public Interest WithoutProcess(string processId) => _wildcard
        ? new Interest(true, WithAdded(_exceptions, processId))
        : new Interest(false, Without(_exceptions, processId));

    private static FrozenSet<string> WithAdded(FrozenSet<string> set, string id) => set.Append(id).ToFrozenSet(StringComparer.Ordinal);

    private static FrozenSet<string> Without(FrozenSet<string> set, string id) => set.Where(x => x != id).ToFrozenSet(StringComparer.Ordinal);
}
