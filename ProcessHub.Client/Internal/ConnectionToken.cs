namespace ProcessHub.Client.Internal;

/// <summary>
/// The token an open connection runs on, which a refresh replaces (docs/protocol.md 2.6), and the one before it: the
/// watch loop reads it after a 4401 to know which token the hub rejected.
/// </summary>
internal sealed class ConnectionToken(string token)
{
    private volatile string _current = token;
    private volatile string? _previous;

    public string Current => _current;

    public void Replace(string fresh)
    {
        _previous = _current;
        _current = fresh;
    }

    /// <summary>
    /// The token a 4401 was about. "token expired" while the current token is still valid: a refresh crossed the
    /// hub's close, which was about the one before (naming the fresh one would make its next, valid, use a give-up).
    /// "token roles changed": none. The hub took the fresh token and asks for a new connection with it, since a
    /// connection keeps its roles (docs/protocol.md 2.6); a provider that hands out the same token again is right.
    /// </summary>
    public string? Rejected(string? reason) => reason switch
    {
        "token roles changed" => null,
        "token expired" when _previous is { } previous && TokenExpiry.Of(_current) > DateTimeOffset.UtcNow => previous,
        _ => _current,
    };
}
