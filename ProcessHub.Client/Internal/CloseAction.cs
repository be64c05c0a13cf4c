namespace ProcessHub.Client.Internal;

/// <summary>What the watcher does after a close code (docs/protocol.md section 6).</summary>
internal enum CloseAction
{
    /// <summary>The hub ended the conversation normally (1000): the watch ends.</summary>
    End,

    /// <summary>Transient: reconnect with backoff and jitter, then resume.</summary>
    Reconnect,

    /// <summary>4401: reconnect only with a new token from the token provider.</summary>
    Reauthenticate,

    /// <summary>Retrying cannot help (4403, or a client bug: 1002, 1003, 1007, 1009): give up.</summary>
    GiveUp,
}
