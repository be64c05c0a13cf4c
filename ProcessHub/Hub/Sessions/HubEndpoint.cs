using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Hub.Sessions;

/// <summary>
/// The hub on the connections' seam: each connection gets a <see cref="HubSession"/>, and each client message
/// (docs/protocol.md section 4) goes to the concern that handles it: authentication to the
/// <see cref="SessionAuthenticator"/>, subscriptions to the registry's replay, cancels to the engine. The clock-driven
/// duties are the <see cref="SessionTimers"/>'.
/// </summary>
internal sealed class HubEndpoint : IConnectionHandler
{
    private readonly SessionTable _sessions;
    private readonly SessionIndex _index;
    private readonly SessionAuthenticator _authenticator;
    private readonly ProcessRegistry _registry;

    // One delegate for every session (see HubSession's live-after table).
    private readonly Func<string, bool> _isGone;
    private readonly IProcessEngine _engine;
    private readonly HubOptions _options;
    private readonly TimeProvider _time;
    private readonly HubCounters _counters;

    // The second pass of a message about a process the engine had to catch up with (see TryFindVisible).
    private readonly Action<HubSession, ClientMessage> _cancelCaughtUp;
    private readonly Action<HubSession, ClientMessage> _subscribeCaughtUp;
    private readonly Action<HubSession, ClientMessage> _unsubscribeCaughtUp;

    public HubEndpoint(SessionTable sessions, SessionIndex index, SessionAuthenticator authenticator, ProcessRegistry registry, IProcessEngine engine, HubOptions options, TimeProvider time, HubCounters counters)
    {
        _sessions = sessions;
        _index = index;
        _authenticator = authenticator;
        _registry = registry;
        _isGone = processId => registry.FindRecord(processId) is null;
        _engine = engine;
        _options = options;
        _time = time;
        _counters = counters;
        _cancelCaughtUp = (session, message) => Cancel(session, message, caughtUp: true);
        _subscribeCaughtUp = (session, message) => Subscribe(session, message, caughtUp: true);
        _unsubscribeCaughtUp = (session, message) => Unsubscribe(session, message, caughtUp: true);
        registry.Replaced += RelistAll;
    }

    /// <summary>docs/protocol.md section 11: when the hub's history is replaced, every live connection gets a fresh list.</summary>
    private void RelistAll()
    {
        // Every tab of a user gets the same list, and every admin the same bounded view: each is built once here, not
        // once per tab (a scan of every process and a serialization each, on the applier's turn).
        var lists = new Dictionary<(string? Subject, bool Admin), (SharedFrame Frame, List<ProcessSnapshot> Listed)>();
        try
        {
            foreach (var (_, session) in _sessions)
            {
                _authenticator.Relist(session, lists);
            }
        }
        finally
        {
            foreach (var (frame, _) in lists.Values)
            {
                frame.Release();
            }
        }
    }

    public void OnOpen(IOutboundConnection connection, UpgradeRequest request)
    {
        var session = new HubSession(connection, _time.GetUtcNow() + _options.AuthTimeout, _isGone);
        connection.State = session;
        _sessions.Add(session);
        _authenticator.OnOpen(session, request);
    }

    public void OnMessage(IOutboundConnection connection, ReadOnlySpan<byte> utf8)
    {
        var session = (HubSession)connection.State!;
        // Before authentication one message decides (auth, or 4401 for anything else), so it is never refused for
        // rate: ping frames before it could spend the budget, and the auth then got an error (which an unauthenticated
        // connection is never sent) and the connection died of its auth timeout.
        if (session.IsAuthenticated)
        {
            switch (session.TakeMessageToken(_options.MessageRateLimit, _time))
            {
                case RateDecision.Refused:
                    // docs/protocol.md section 3: every error echoes the request's request_id/process_id, a refusal too.
                    // Parsing costs little: refusals are bounded, a client that keeps going is closed below.
                    var refused = ClientMessage.TryParse(utf8, out _, out var refusedRequestId);
                    ReplyError(session, "rate_limited", "too many messages; slow down", refusedRequestId, refused?.ProcessId);
                    return;
                case RateDecision.Close:
                    connection.Close(CloseCode.PolicyViolation, "rate limit exceeded");
                    return;
            }
        }

        var message = ClientMessage.TryParse(utf8, out var problem, out var requestId);
        if (!session.IsAuthenticated)
        {
            if (message is { Type: "auth" })
            {
                _authenticator.Authenticate(session, message.Token);
            }
            else
            {
                // An auth whose token is a number or an object was closed as "auth required", which sent its author
                // looking for a missing auth message; it is told what was wrong with the one it sent.
                _authenticator.Fail(session, problem == ClientMessage.TokenNotAString ? problem : "auth required");
            }
            return;
        }
        if (message is null)
        {
            ReplyError(session, "bad_request", problem!, requestId, null);
            return;
        }

        switch (message.Type)
        {
            case "auth" when string.IsNullOrWhiteSpace(message.Token):
                // A refresh that carries no token is a malformed request, as one whose token is not a string is: an
                // error, and the connection keeps the token it has (it was closed as "missing token", while a
                // number for a token only got an error).
                ReplyError(session, "bad_request", "auth needs a token: the connection keeps its current one", message.RequestId, null);
                break;
            case "auth":
                _authenticator.Reauthenticate(session, message.Token);
                break;
            case "cancel_process":
                Cancel(session, message);
                break;
            case "subscribe":
                Subscribe(session, message);
                break;
            case "unsubscribe":
                Unsubscribe(session, message);
                break;
            case "ping":
                session.SendAndRelease(HubMessageWriter.Pong(message.RequestId, _time.GetUtcNow()));
                break;
            default:
                ReplyError(session, "unknown_type", $"unknown message type '{Truncate(message.Type)}'", message.RequestId, message.ProcessId);
                break;
        }
    }

    /// <summary>
    /// docs/protocol.md section 5.6: a client's ping control frames take from the same budget as its messages. Past it
    /// a ping goes unanswered (a control frame has no error reply), and a client that keeps going is closed with 1008
    /// like one that floods messages.
    /// </summary>
    public bool OnPing(IOutboundConnection connection)
    {
        var session = (HubSession)connection.State!;
        switch (session.TakeMessageToken(_options.MessageRateLimit, _time))
        {
            case RateDecision.Allowed:
                return true;
            case RateDecision.Close:
                connection.Close(CloseCode.PolicyViolation, "rate limit exceeded");
                return false;
            default:
                return false;
        }
    }

    /// <summary>
    /// docs/protocol.md section 5.6: pongs and the small frames of a fragmented message take from the message budget too.
    /// Nothing is refused past it (nothing is asked of the hub), but a client that keeps sending them is closed with
    /// 1008 like one that floods pings: pongs, or empty continuation frames that never finish a message, kept a core
    /// busy and went unmetered.
    /// </summary>
    public void OnFrameWithoutMessage(IOutboundConnection connection)
    {
        var session = (HubSession)connection.State!;
        if (session.TakeMessageToken(_options.MessageRateLimit, _time) == RateDecision.Close)
        {
            connection.Close(CloseCode.PolicyViolation, "rate limit exceeded");
        }
    }

    public void OnClosed(IOutboundConnection connection)
    {
        if (connection.State is HubSession session)
        {
            _sessions.Remove(session);
            _index.Remove(session);
            session.ReleaseHeld();
            _counters.CountClose(connection.CloseStatus ?? CloseCode.Abnormal, connection.ClosedByPeer);
        }
    }

    // docs/protocol.md section 4, cancel_process: owner or admin; already ended -> conflict. The producer's token
    // fires before any connection sees process_cancelled (the engine sees to that).
    private void Cancel(HubSession session, ClientMessage message) => Cancel(session, message, caughtUp: false);

    private void Cancel(HubSession session, ClientMessage message, bool caughtUp)
    {
        if (!TryFindVisible(session, message, out var process, caughtUp ? null : _cancelCaughtUp))
        {
            return;
        }
        var cancel = _engine.ApplyAsync(process.ProcessId, ProcessChange.Cancel(session.Identity!.Subject));
        if (cancel.IsCompletedSuccessfully)
        {
            AnswerCancel(session, message, cancel.Result);
        }
        else
        {
            _ = AnswerCancelAsync(session, message, cancel);
        }
    }

    private async Task AnswerCancelAsync(HubSession session, ClientMessage message, ValueTask<TransitionOutcome> cancel)
    {
        try
        {
            AnswerCancel(session, message, await cancel.ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ReplyError(session, "unavailable", "the cancel could not be stored; try again", message.RequestId, message.ProcessId);
        }
    }

    private void AnswerCancel(HubSession session, ClientMessage message, TransitionOutcome outcome)
    {
        switch (outcome.Status)
        {
            case TransitionStatus.AlreadyEnded:
                ReplyError(session, "conflict", "the process has already ended", message.RequestId, message.ProcessId);
                break;
            case TransitionStatus.NotFound:
                ReplyError(session, "not_found", "no such process", message.RequestId, message.ProcessId);
                break;
        }
    }

    // docs/protocol.md section 4, subscribe: the reply, the replay and then the live events reach the queue in seq
    // order, with no gap and no duplicate (the registry replays under the process's lock).
    private void Subscribe(HubSession session, ClientMessage message) => Subscribe(session, message, caughtUp: false);

    private void Subscribe(HubSession session, ClientMessage message, bool caughtUp)
    {
        if (message.ProcessId == "*")
        {
            session.SetInterest(Interest.Everything);
            // "*" replays nothing, so recovered (docs/protocol.md section 3.5: every event after since is in the replay)
            // holds only when nothing was asked: a since, or seqs of another epoch, are not recovered by this reply.
            bool recovered = message.Since is null && (message.Epoch is null || message.Epoch == _registry.Epoch);
            session.SendAndRelease(HubMessageWriter.Subscribed("*", null, _registry.Epoch, 0, recovered, message.RequestId, _time.GetUtcNow()));
            return;
        }
        if (!TryFindVisible(session, message, out var process, caughtUp ? null : _subscribeCaughtUp))
        {
            return;
        }
        var replay = new SessionReplay(session, _registry.Epoch, message.RequestId, _time);
        if (_registry.Replay(process.ProcessId, message.Since, message.Epoch, replay) == ReplayOutcome.NotFound)
        {
            // Evicted between the lookup and the replay.
            ReplyError(session, "not_found", "no such process", message.RequestId, message.ProcessId);
        }
    }

    private void Unsubscribe(HubSession session, ClientMessage message) => Unsubscribe(session, message, caughtUp: false);

    private void Unsubscribe(HubSession session, ClientMessage message, bool caughtUp)
    {
        if (message.ProcessId == "*")
        {
            session.SetInterest(Interest.Nothing);
        }
        else
        {
            if (!TryFindVisible(session, message, out var process, caughtUp ? null : _unsubscribeCaughtUp))
            {
                return;
            }
            session.Exclude(process.ProcessId);
        }
        session.SendAndRelease(HubMessageWriter.Unsubscribed(message.ProcessId!, message.RequestId, _time.GetUtcNow()));
    }

    /// <param name="retry">
    /// Handles the message again once the engine has caught up with a process this hub did not know yet (another hub
    /// started it a moment ago, docs/protocol.md section 11.1); null on that second pass.
    /// </param>
    private bool TryFindVisible(HubSession session, ClientMessage message, out ProcessSnapshot process, Action<HubSession, ClientMessage>? retry)
    {
        process = default;
        if (string.IsNullOrEmpty(message.ProcessId))
        {
            ReplyError(session, "bad_request", "missing field: process_id", message.RequestId, null);
            return false;
        }
        if (_registry.Find(message.ProcessId) is not { } found)
        {
            var catchUp = retry is null ? ValueTask.FromResult(CatchUpOutcome.Missing) : _engine.CatchUpAsync(message.ProcessId);
            if (catchUp.IsCompletedSuccessfully)
            {
                AfterCatchUp(session, message, catchUp.Result, retry);
            }
            else
            {
                _ = AfterCatchUpAsync(session, message, catchUp, retry!);
            }
            return false;
        }
        if (!session.MaySee(found))
        {
            ReplyError(session, "forbidden", "not your process", message.RequestId, message.ProcessId);
            return false;
        }
        process = found;
        return true;
    }

    private async Task AfterCatchUpAsync(HubSession session, ClientMessage message, ValueTask<CatchUpOutcome> catchUp, Action<HubSession, ClientMessage> retry)
    {
        CatchUpOutcome outcome;
        try
        {
            outcome = await catchUp.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            outcome = CatchUpOutcome.Unavailable;
        }
        AfterCatchUp(session, message, outcome, retry);
    }

    private void AfterCatchUp(HubSession session, ClientMessage message, CatchUpOutcome outcome, Action<HubSession, ClientMessage>? retry)
    {
        switch (outcome)
        {
            case CatchUpOutcome.Known:
                // Applied here now: the message is handled as if it had come after (no third lookup: retry is null).
                retry!(session, message);
                break;
            case CatchUpOutcome.Unavailable:
                ReplyError(session, "unavailable", "the shared engine (Redis) cannot be reached, so this hub cannot look the process up; try again", message.RequestId, message.ProcessId);
                break;
            default:
                ReplyError(session, "not_found", "no such process", message.RequestId, message.ProcessId);
                break;
        }
    }

    private void ReplyError(HubSession session, string code, string message, string? requestId, string? processId) =>
        session.SendAndRelease(HubMessageWriter.Error(code, message, requestId, processId, _time.GetUtcNow()));

    // 64 characters as a person counts them, never cutting one in half (a lone surrogate would be said back as U+FFFD).
    private static string Truncate(string value)
    {
        if (!FieldLimits.HasMoreCharactersThan(value, 64))
        {
            return value;
        }
        int end = 0;
        int characters = 0;
        foreach (var rune in value.EnumerateRunes())
        {
            if (++characters > 64)
            {
                break;
            }
            end += rune.Utf16SequenceLength;
        }
        return value[..end];
    }
}
