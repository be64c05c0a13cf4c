namespace ProcessHub.Redis;

/// <summary>
/// A process's hash in Redis holds fields this hub cannot take a state from (a seq that is not a number, a time out of
/// range, no owner): written by another program under the hub's prefix, or by a newer version. The hub leaves that one
/// process out rather than fail its start or its reload over it (docs/protocol.md 11.3).
/// </summary>
internal sealed class UnreadableProcessException(string message) : Exception(message);
