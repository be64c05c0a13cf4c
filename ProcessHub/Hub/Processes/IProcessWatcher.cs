using ProcessHub.Hub.Messages;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// Follows one process's events outside the WebSocket fan-out (an SSE stream). Called under the process's lock,
/// in seq order: it must only queue, never wait.
/// </summary>
internal interface IProcessWatcher
{
    void OnEvent(SharedFrame frame, long seq, HubEventKind kind);

    /// <summary>
    /// The record it follows was replaced (a shared engine reloaded every process): no more events come through it, so
    /// the watcher ends and its client comes back for the rest (an SSE client with <c>Last-Event-ID</c>).
    /// </summary>
    void OnReplaced();
}
