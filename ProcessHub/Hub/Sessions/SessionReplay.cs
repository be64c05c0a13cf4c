using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// A <c>subscribe</c> as the target of the registry's replay (docs/protocol.md section 4): adds the process to the
/// session's interest, answers <c>subscribed</c>, then queues the replayed events, all before any newer live event.
/// </summary>
internal sealed class SessionReplay : IReplayTarget
{
    private readonly HubSession _session;
    private readonly string _epoch;
    private readonly string? _requestId;
    private readonly TimeProvider _time;

    public SessionReplay(HubSession session, string epoch, string? requestId, TimeProvider time)
    {
        _session = session;
        _epoch = epoch;
        _requestId = requestId;
        _time = time;
    }

    public long FollowLive(ProcessSnapshot process)
    {
        if (_session.Interest.Includes(process.ProcessId))
        {
            // Already following: events after this seq were sent live, those before it may have been skipped.
            return _session.LiveAfter(process.ProcessId);
        }
        _session.SetLiveAfter(process.ProcessId, process.Seq);
        _session.Include(process.ProcessId);
        return process.Seq;
    }

    // A replay is queued whole, at once, under the process's lock, while the flusher sends on another thread: one that
    // would take the queue past --outbound-limit-bytes closed the connection with 4429 however fast the client read,
    // and a resuming client asked for the same replay again at each reconnect. Refused whole instead (recovered false).
    // The subscribed reply goes first and carries the process whole (params and a result of up to 64 KiB): counted too.
    // The last quarter of the limit is kept for the replies of the subscribes handled in the same read (a resuming
    // client sends 50 at once): without it the first replays filled the queue and the next reply closed it with 4429.
    public bool CanTake(ProcessSnapshot process, long bytes) => _session.Connection.HasRoomToSpareFor(bytes + ReplyBytes(process));

    private static long ReplyBytes(ProcessSnapshot process) =>
        512 + process.ProcessId.Length + process.ProcessType.Length + process.Owner.Length + process.ProgressJson.Length
        + (process.ParamsJson?.Length ?? 0) + (process.ResultJson?.Length ?? 0) + (process.ErrorJson?.Length ?? 0);

    // A reply whose process would not leave the reserve free (the queue is backed up) leaves params and result out and
    // names them in omitted, as a list does: a few hundred bytes instead of up to 80 KiB, so that 50 of them fit.
    public void OnReplayStart(ProcessSnapshot process, int replayed, bool recovered)
    {
        var details = replayed > 0 || _session.Connection.HasRoomToSpareFor(ReplyBytes(process)) ? ListDetails.All : ListDetails.None;
        _session.SendAndRelease(HubMessageWriter.Subscribed(process.ProcessId, process, _epoch, replayed, recovered, _requestId, _time.GetUtcNow(), details));
    }

    public void OnReplayed(SharedFrame frame, long seq, HubEventKind kind)
    {
        // The replay was promised whole (replayed, recovered): a history frame is a live progress frame that a
        // backed-up queue would coalesce with its neighbours, or with a newer live frame still queued. A copy that
        // never coalesces keeps every replayed event, in order.
        if (frame.Kind == FrameKind.Progress)
        {
            _session.SendAndRelease(SharedFrame.CreateText(frame.Payload, FrameKind.Essential));
        }
        else
        {
            _session.Connection.Send(frame);
        }
    }
}
