using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ProcessHub.Auth;
using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Hub;

/// <summary>
/// The hub on the engine's seam: authentication (PROTOCOL.md section 2), the client messages of section 4, and the
/// per-connection timers of section 5 (auth timeout, token expiry, stall limit), swept by <see cref="SweepAsync"/>.
/// </summary>
internal sealed partial class HubConnectionHandler : IWebSocketHandler
{
    private readonly ProcessRegistry _registry;
    private readonly SessionIndex _index;
    private readonly TokenValidator _tokens;
    private readonly HubOptions _options;
    private readonly TimeProvider _time;
    private readonly HubCounters _counters;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, HubSession> _sessions = new();

    public HubConnectionHandler(ProcessRegistry registry, SessionIndex index, TokenValidator tokens, HubOptions options, TimeProvider time, HubCounters counters, ILogger logger)
    {
        _registry = registry;
        _index = index;
        _tokens = tokens;
        _options = options;
        _time = time;
        _counters = counters;
        _logger = logger;
    }

    public int SessionCount => _sessions.Count;

    public void OnOpen(WebSocketConnection connection, UpgradeRequest request)
    {
        var session = new HubSession(connection, _time.GetUtcNow() + _options.AuthTimeout);
        connection.State = session;
        _sessions[connection.Id] = session;

        // PROTOCOL.md section 2: the query first, then the Authorization header, then a first "auth" message.
        string? token = request.QueryToken ?? BearerToken(request.Authorization);
        if (token is not null)
        {
            Authenticate(session, token);
        }
    }

    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> utf8)
    {
        var session = (HubSession)connection.State!;
        switch (session.TakeMessageToken(_options.MessageRateLimit))
        {
            case RateDecision.Refused:
                // PROTOCOL.md section 3: every error echoes the request's request_id/process_id, a refusal too. Parsing
                // costs little: refusals are bounded, a client that keeps going is closed below.
                var refused = ClientMessage.TryParse(utf8, out _, out var refusedRequestId);
                Reply(session, HubMessageWriter.Error("rate_limited", "too many messages; slow down", refusedRequestId, refused?.ProcessId, _time.GetUtcNow()));
                return;
            case RateDecision.Close:
                connection.Close(CloseCode.PolicyViolation, "rate limit exceeded");
                return;
        }

        var message = ClientMessage.TryParse(utf8, out var problem, out var requestId);
        if (!session.IsAuthenticated)
        {
            if (message is { Type: "auth" })
            {
                Authenticate(session, message.Token);
            }
            else
            {
                FailAuth(session, "auth required");
            }
            return;
        }
        if (message is null)
        {
            Reply(session, HubMessageWriter.Error("bad_request", problem!, requestId, null, _time.GetUtcNow()));
            return;
        }

        switch (message.Type)
        {
            case "auth":
                Reauthenticate(session, message.Token);
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
                Reply(session, HubMessageWriter.Pong(message.RequestId, _time.GetUtcNow()));
                break;
            default:
                Reply(session, HubMessageWriter.Error("unknown_type", $"unknown message type '{Truncate(message.Type)}'", message.RequestId, message.ProcessId, _time.GetUtcNow()));
                break;
        }
    }

    public void OnClosed(WebSocketConnection connection)
    {
        if (connection.State is HubSession session)
        {
            _sessions.TryRemove(connection.Id, out _);
            _index.Remove(session);
            session.ReleaseHeld();
            _counters.CountClose(connection.CloseStatus ?? CloseCode.Abnormal);
        }
    }

    /// <summary>
    /// Runs the hub's timers until <paramref name="stopping"/>: auth timeout and token expiry (4401), stall limit (4429),
    /// and eviction of processes past the retention window. One sweep for all connections instead of a timer each.
    /// </summary>
    public async Task SweepAsync(TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                Sweep();
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown.
        }
    }

    internal void Sweep()
    {
        var now = _time.GetUtcNow();
        // Enumerating the dictionary itself, not .Values: .Values copies every session into a new list, which at
        // 10,000 idle connections was 80 KB of garbage four times a second.
        foreach (var (_, session) in _sessions)
        {
            var connection = session.Connection;
            if (connection.IsClosing)
            {
                // Our close frame waits behind a send the peer never lets complete (it reads nothing at all): without
                // this the connection, its session and its last batch would be held until the peer went away. It gets
                // a second stall limit to take the close, then the socket is dropped, which releases everything.
                if (connection.Outbound.PendingFor > _options.StallLimit * 2)
                {
                    connection.Abort();
                }
                continue;
            }
            if (session.Identity is not { } identity)
            {
                if (now >= session.AuthDeadline)
                {
                    FailAuth(session, "auth timeout");
                }
                continue;
            }
            if (now >= identity.ExpiresAt + _tokens.Settings.ClockSkew)
            {
                FailAuth(session, "token expired");
            }
            else if (connection.Outbound.PendingFor > _options.StallLimit)
            {
                connection.Close(CloseCode.SlowConsumer, "slow consumer", dropPending: true);
            }
        }
        _registry.EvictExpired();
    }

    private void Authenticate(HubSession session, string? token)
    {
        var result = _tokens.Validate(token);
        if (!result.Succeeded)
        {
            FailAuth(session, result.FailureReason!);
            return;
        }
        var identity = result.Identity!;
        if (_index.CountForUser(identity.Subject) >= _options.MaxConnectionsPerUser)
        {
            session.Connection.Close(CloseCode.TryAgainLater, "too many connections for this user");
            return;
        }

        // Registered first, so nothing published from here on is missed: it is held until the list is out.
        session.SetIdentity(identity);
        _index.Add(session);
        var listed = _registry.SnapshotVisible(identity);
        var list = HubMessageWriter.ProcessList(_registry.Epoch, listed, _time.GetUtcNow());
        try
        {
            session.BecomeReady(list, listed);
        }
        finally
        {
            list.Release();
        }
        LogAuthenticated(session.Connection.Id, identity.SubjectForLog);
    }

    // PROTOCOL.md section 2: a fresh token for the same sub extends the connection; another sub ends it.
    private void Reauthenticate(HubSession session, string? token)
    {
        var result = _tokens.Validate(token);
        if (!result.Succeeded)
        {
            FailAuth(session, result.FailureReason!);
            return;
        }
        var current = session.Identity!;
        var fresh = result.Identity!;
        if (fresh.Subject != current.Subject)
        {
            FailAuth(session, "token is for another user");
            return;
        }
        // Roles stay as connected: they decide which index the session lives in. Identities are immutable and shared
        // among the connections of one token, so the new expiry goes into a copy, never into the shared instance;
        // with unchanged roles the fresh token's own (shared) identity is that copy already.
        session.SetIdentity(fresh.IsAdmin == current.IsAdmin && fresh.IsProducer == current.IsProducer
            ? fresh
            : current with { ExpiresAt = fresh.ExpiresAt });
    }

    private void Cancel(HubSession session, ClientMessage message)
    {
        if (!TryFindVisible(session, message, out var process))
        {
            return;
        }
        if (_registry.Cancel(process, session.Identity!.Subject) == ReportResult.AlreadyEnded)
        {
            Reply(session, HubMessageWriter.Error("conflict", "the process has already ended", message.RequestId, process.Id, _time.GetUtcNow()));
        }
    }

    private void Subscribe(HubSession session, ClientMessage message)
    {
        if (message.ProcessId == "*")
        {
            session.SetInterest(Interest.Everything);
            Reply(session, HubMessageWriter.Subscribed("*", null, _registry.Epoch, 0, true, message.RequestId, _time.GetUtcNow()));
            return;
        }
        if (!TryFindVisible(session, message, out var process))
        {
            return;
        }

        // Under the process's lock no event of it can be published: the reply, the replay and then the live
        // events reach the queue in seq order, with no gap and no duplicate.
        lock (process.Gate)
        {
            long liveAfter;
            if (session.Interest.Includes(process.Id))
            {
                liveAfter = session.LiveAfter(process.Id);
            }
            else
            {
                liveAfter = process.Seq;
                session.SetLiveAfter(process.Id, liveAfter);
                session.SetInterest(session.Interest.With(process.Id));
            }

            long first = 0;
            long last = -1;
            bool recovered = true;
            if (message.Since is long since)
            {
                if (message.Epoch is not null && message.Epoch != _registry.Epoch)
                {
                    recovered = false; // seqs from another epoch mean nothing here
                }
                else
                {
                    first = Math.Max(since + 1, process.OldestRetainedSeq);
                    last = liveAfter;
                    recovered = since + 1 >= process.OldestRetainedSeq || since >= liveAfter;
                }
            }
            int replayed = (int)Math.Max(0, last - first + 1);
            Reply(session, HubMessageWriter.Subscribed(process.Id, ProcessSnapshot.Of(process), _registry.Epoch, replayed, recovered, message.RequestId, _time.GetUtcNow()));
            for (long seq = first; seq <= last; seq++)
            {
                if (process.HistoryAt(seq) is { } frame)
                {
                    // The replay was promised whole (replayed, recovered): a history frame is a live progress frame that
                    // a backed-up queue would coalesce with its neighbours, or with a newer live frame still queued.
                    // A copy that never coalesces keeps every replayed event, in order.
                    if (frame.Kind == FrameKind.Progress)
                    {
                        Reply(session, SharedFrame.CreateText(frame.Payload, FrameKind.Essential));
                    }
                    else
                    {
                        session.Connection.Send(frame);
                    }
                }
            }
        }
    }

    private void Unsubscribe(HubSession session, ClientMessage message)
    {
        if (message.ProcessId == "*")
        {
            session.SetInterest(Interest.Nothing);
        }
        else
        {
            if (!TryFindVisible(session, message, out var process))
            {
                return;
            }
            session.SetInterest(session.Interest.WithoutProcess(process.Id));
        }
        Reply(session, HubMessageWriter.Unsubscribed(message.ProcessId!, message.RequestId, _time.GetUtcNow()));
    }

    private bool TryFindVisible(HubSession session, ClientMessage message, out ProcessRecord process)
    {
        process = null!;
        if (string.IsNullOrEmpty(message.ProcessId))
        {
            Reply(session, HubMessageWriter.Error("bad_request", "missing field: process_id", message.RequestId, null, _time.GetUtcNow()));
            return false;
        }
        var found = _registry.Find(message.ProcessId);
        if (found is null)
        {
            Reply(session, HubMessageWriter.Error("not_found", "no such process", message.RequestId, message.ProcessId, _time.GetUtcNow()));
            return false;
        }
        if (!session.MaySee(found))
        {
            Reply(session, HubMessageWriter.Error("forbidden", "not your process", message.RequestId, message.ProcessId, _time.GetUtcNow()));
            return false;
        }
        process = found;
        return true;
    }

    private void FailAuth(HubSession session, string reason)
    {
        _counters.CountAuthFailure(reason);
        session.Connection.Close(CloseCode.Unauthorized, reason);
    }

    private static void Reply(HubSession session, SharedFrame frame)
    {
        try
        {
            session.Connection.Send(frame);
        }
        finally
        {
            frame.Release();
        }
    }

    private static string? BearerToken(string? authorization) =>
        authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : null;

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64];

    [LoggerMessage(Level = LogLevel.Information, Message = "websocket {ConnectionId} authenticated as {Subject}")]
    private partial void LogAuthenticated(long connectionId, string subject);
}
