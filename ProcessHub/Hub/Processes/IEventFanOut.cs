using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// Delivers a published event to the connections that may see it (the WebSocket sessions' broadcaster). Called under
/// the process's lock, in seq order; it must only queue, never wait.
/// </summary>
internal interface IEventFanOut
{
    void Publish(string owner, string processId, long seq, SharedFrame frame);
}
