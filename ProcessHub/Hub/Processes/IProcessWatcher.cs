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
}
