using ProcessHub.Hub.Messages;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Processes;

/// <summary>
/// Receives a replay from <see cref="ProcessRegistry.Replay"/>: a WebSocket subscription (<c>subscribe ... since</c>,
/// a reconnecting tab's resume) or an SSE stream (<c>Last-Event-ID</c>). Every call is made under the process's
/// lock: no event of the process is published meanwhile, so the replay and the live events that follow it meet
/// without a gap or a duplicate. Implementations only queue.
/// </summary>
internal interface IReplayTarget
{
    /// <summary>
    /// Starts receiving the process's live events (if it was not already) and says after which seq they arrive
    /// live: the replay covers the events up to it.
    /// </summary>
    long FollowLive(ProcessSnapshot process);

    /// <summary>
    /// Whether a replay of <paramref name="bytes"/> (its frames' lengths), with whatever the target sends before it
    /// about <paramref name="process"/>, can be queued now. When not, none of it is: the reply says
    /// <c>replayed: 0</c>, <c>recovered: false</c>, and the process's state stands in for it.
    /// </summary>
    bool CanTake(ProcessSnapshot process, long bytes);

    /// <summary>Before the replayed events: how many follow, and whether they are every event after the requested seq.</summary>
    void OnReplayStart(ProcessSnapshot process, int replayed, bool recovered);

    /// <summary>One retained event, oldest first.</summary>
    void OnReplayed(SharedFrame frame, long seq, HubEventKind kind);
}
