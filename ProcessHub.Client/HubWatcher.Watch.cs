using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ProcessHub.Client.Internal;

namespace ProcessHub.Client;

public sealed partial class HubWatcher
{
    /// <summary>
    /// Connects and yields what happens, until <paramref name="cancellationToken"/> fires (the connection is then
    /// closed with 1000 and the sequence ends), the hub closes with 1000, or retrying cannot help. Each connection
    /// starts with <see cref="HubConnected"/> and a <see cref="ProcessListed"/>; each drop or failed attempt is a
    /// <see cref="HubDisconnected"/> that says when the next attempt comes. One enumeration at a time per watcher.
    /// Stop it with <paramref name="cancellationToken"/>, or by leaving an <c>await foreach</c>: an enumerator disposed
    /// while its <c>MoveNextAsync</c> is still pending throws <see cref="NotSupportedException"/> (as every async
    /// iterator does) and the watcher counts as enumerated until that call completes.
    /// </summary>
    /// <exception cref="HubConnectionException">
    /// The hub refused in a way retrying cannot fix: a rejected token without a <see cref="HubWatcherOptions.TokenProvider"/>
    /// (4401), 4403, a protocol error (1002, 1003, 1007, 1009), a message longer than
    /// <see cref="HubWatcherOptions.MaxMessageBytes"/> (the watcher closes with 1009), an upgrade answered with 4xx; or
    /// <see cref="HubWatcherOptions.MaxFailedAttempts"/> ran out.
    /// </exception>
    public async IAsyncEnumerable<HubEvent> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _watching, 1) != 0)
        {
            throw new InvalidOperationException("this watcher is already being enumerated; a HubWatcher runs one WatchAsync at a time");
        }
        try
        {
            var cursors = new ProcessCursors();
            string? epoch = null;
            string? rejectedToken = null;
            string? rejectedBecause = null; // the hub's reason for that 4401, said again if the same token comes back
            int failures = 0;
            int failedInARow = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                long? listedAt = null;
                var url = CurrentUrl;
                var attempt = await OpenAsync(url, rejectedToken, rejectedBecause, cancellationToken).ConfigureAwait(false);
                if (attempt.Socket is not { } socket)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        yield break;
                    }
                    if (attempt.Fatal is { } fatal)
                    {
                        throw fatal;
                    }
                    var wait = NextDelay(ref failures, ref failedInARow, attempt.Failure!, attempt.Exception);
                    MoveToNextUrl();
                    yield return new HubDisconnected(url, wasConnected: false, closeStatus: null, attempt.Failure!, wait, attempt.Exception);
                    if (!await DelayAsync(wait, cancellationToken).ConfigureAwait(false))
                    {
                        yield break;
                    }
                    continue;
                }

                Incoming ended = default;
                using var connectionEnded = new CancellationTokenSource();
                var connectionToken = new ConnectionToken(attempt.Token!);
                try
                {
                    socket.CloseWhenCancelled(cancellationToken);
                    var first = await ReceiveNextAsync(socket).ConfigureAwait(false);
                    if (first.Event is not ProcessListed list)
                    {
                        // docs/protocol.md section 2: process_list is always first after auth; a close here is
                        // usually 4401 (the token) or 1013 (too many connections).
                        ended = first.Ended ? first : Incoming.Lost("the hub did not send process_list first");
                    }
                    else
                    {
                        listedAt = Stopwatch.GetTimestamp();
                        rejectedToken = null;
                        if (_options.TokenProvider is { } provider)
                        {
                            _ = KeepTokenFreshAsync(socket, connectionToken, provider, connectionEnded.Token);
                        }
                        bool isReconnect = epoch is not null;
                        bool sameEpoch = epoch == list.Epoch;
                        epoch = list.Epoch;
                        Volatile.Write(ref _epoch, epoch);
                        Volatile.Write(ref _socket, socket);
                        if (!sameEpoch)
                        {
                            // First connection, or the hub restarted: its list is the truth, old seqs mean nothing.
                            cursors.Reset(list);
                            yield return new HubConnected(url, epoch, isReconnect, epochChanged: isReconnect, recovered: false);
                            yield return list;
                        }
                        else
                        {
                            var targets = cursors.PlanResume(list, MaxResumesPerReconnect, out bool complete);
                            var resume = await ResumeAsync(socket, list, targets).ConfigureAwait(false);
                            if (resume.Ended.Ended)
                            {
                                ended = resume.Ended;
                            }
                            else
                            {
                                // Missed events first, then the list (which is their end state), then what went live
                                // meanwhile: a consumer applying events in order never moves backwards.
                                yield return new HubConnected(url, epoch, isReconnect: true, epochChanged: false, recovered: complete && resume.Recovered);
                                foreach (var replayed in resume.Replayed)
                                {
                                    if (cursors.Accept(replayed))
                                    {
                                        yield return replayed;
                                    }
                                }
                                cursors.ApplyList(list);
                                yield return list;
                                foreach (var held in resume.Held)
                                {
                                    if (Pass(held, cursors, ref epoch))
                                    {
                                        yield return held;
                                    }
                                }
                            }
                        }
                        while (!ended.Ended && !cancellationToken.IsCancellationRequested)
                        {
                            var next = await ReceiveNextAsync(socket).ConfigureAwait(false);
                            if (next.Ended)
                            {
                                ended = next;
                            }
                            else if (next.Event is { } hubEvent && Pass(hubEvent, cursors, ref epoch))
                            {
                                yield return hubEvent;
                            }
                        }
                    }
                }
                finally
                {
                    // A full fence: CancelAsync registers and then reads _socket, this writes and then reads the
                    // pending cancels; one of the two must see the other.
                    Interlocked.Exchange(ref _socket, null);
                    FailPendingCancels();
                    await connectionEnded.CancelAsync().ConfigureAwait(false);
                    await socket.DisposeAsync().ConfigureAwait(false);
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    yield break;
                }
                var action = ClosePolicy.For(ended.CloseStatus);
                if (action == CloseAction.End)
                {
                    yield return new HubDisconnected(url, wasConnected: true, ended.CloseStatus, ended.Reason, retryIn: null, ended.Exception);
                    yield break;
                }
                if (action == CloseAction.GiveUp || (action == CloseAction.Reauthenticate && _options.TokenProvider is null))
                {
                    throw new HubConnectionException(
                        ended.CloseStatus == 4401 ? $"the hub rejected the token ({ended.CloseStatus} {ended.Reason})"
                        : ended.Exception is InvalidDataException ? ended.Reason
                        : $"the hub closed the connection ({ended.CloseStatus} {ended.Reason})",
                        ended.CloseStatus, ended.Exception) { CloseReason = ended.Reason };
                }
                if (action == CloseAction.Reauthenticate)
                {
                    rejectedToken = connectionToken.Rejected(ended.Reason);
                    rejectedBecause = ended.Reason;
                }
                if (listedAt is { } since && Stopwatch.GetElapsedTime(since) >= _options.StableAfter)
                {
                    failures = 0; // a connection that lasted: this drop is the first of a new series
                }
                var delay = NextDelay(ref failures, ref failedInARow, ended.Reason, ended.Exception, connected: listedAt is not null);
                MoveToNextUrl();
                yield return new HubDisconnected(url, wasConnected: true, ended.CloseStatus, ended.Reason, delay, ended.Exception);
                if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
                {
                    yield break;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _watching, 0);
        }
    }

    /// <summary>
    /// docs/protocol.md 2.6: a little before the connection's token expires (a tenth of its life left, at least 2 s and
    /// at most a minute), the provider is asked for a fresh one, once a second until it gives a token that expires
    /// later (a provider that caches renews late), which goes over the open connection: the hub does not close it with
    /// 4401 at every token lifetime (a drop and a resume each time). Nothing newer by a minute past the expiry, a
    /// provider that fails, or a send that fails ends the refreshing: the hub's 4401 and the reconnect take over.
    /// </summary>
    private static async Task KeepTokenFreshAsync(WatchSocket socket, ConnectionToken connectionToken, Func<CancellationToken, ValueTask<string>> provider, CancellationToken connectionEnded)
    {
        try
        {
            while (TokenExpiry.Of(connectionToken.Current) is { } expires)
            {
                var lead = TimeSpan.FromTicks(Math.Clamp((expires - DateTimeOffset.UtcNow).Ticks / 10, TimeSpan.FromSeconds(2).Ticks, TimeSpan.FromMinutes(1).Ticks));
                var due = expires - lead;
                for (var wait = due - DateTimeOffset.UtcNow; wait > TimeSpan.Zero; wait = due - DateTimeOffset.UtcNow)
                {
                    // In steps of at most a day: Task.Delay takes no more than about 49 days.
                    await Task.Delay(wait < TimeSpan.FromDays(1) ? wait : TimeSpan.FromDays(1), connectionEnded).ConfigureAwait(false);
                }
                while (true)
                {
                    string fresh = ClientChecks.Provided(await provider(connectionEnded).ConfigureAwait(false));
                    if (TokenExpiry.Of(fresh) is { } freshExpires && freshExpires > expires)
                    {
                        await socket.SendAsync(ClientMessages.Auth(fresh), connectionEnded).ConfigureAwait(false);
                        connectionToken.Replace(fresh);
                        break;
                    }
                    if (DateTimeOffset.UtcNow > expires + TimeSpan.FromMinutes(1))
                    {
                        return;
                    }
                    await Task.Delay(TimeSpan.FromSeconds(1), connectionEnded).ConfigureAwait(false);
                }
            }
        }
        catch (Exception)
        {
            // The connection ended (cancelled, or the send failed), or the provider threw: the hub's 4401, if it comes,
            // is handled as before (a reconnect with a token from the provider).
        }
    }

    // Dedupes process events by seq; replies that only the watcher uses are not passed on.
    private bool Pass(HubEvent hubEvent, ProcessCursors cursors, ref string? epoch)
    {
        switch (hubEvent)
        {
            case ProcessEvent processEvent:
                return cursors.Accept(processEvent);
            case SubscribedReply:
                return false;
            case ProcessListed list when list.Epoch != epoch:
                // docs/protocol.md section 11.4: hubs whose Redis came back without its data send every open
                // connection a fresh process_list with a new epoch. As after a restart, the old seqs mean nothing.
                epoch = list.Epoch;
                Volatile.Write(ref _epoch, epoch);
                cursors.Reset(list);
                return true;
            case ProcessListed list:
                cursors.ApplyList(list); // the hub sends one first; should it send another, it is the state too
                return true;
            default:
                return true;
        }
    }

    /// <summary>
    /// docs/protocol.md sections 4-5: <c>subscribe</c> with <c>since</c> and <c>epoch</c> for every running process
    /// that moved on while we were away; collects each replay (it comes right after its <c>subscribed</c> reply) and
    /// holds everything else until all replies are in.
    /// </summary>
    private async Task<ResumeResult> ResumeAsync(WatchSocket socket, ProcessListed list, List<ResumeTarget> targets)
    {
        var result = new ResumeResult();
        var pending = new Dictionary<string, ResumeTarget>(StringComparer.Ordinal);
        var byProcess = new Dictionary<string, ResumeTarget>(StringComparer.Ordinal);
        var replayLeft = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            foreach (var target in targets)
            {
                string requestId = $"resume-{Interlocked.Increment(ref _requests)}";
                pending[requestId] = target;
                byProcess[target.ProcessId] = target;
                await socket.SendAsync(ClientMessages.Subscribe(target.ProcessId, target.Since, list.Epoch, requestId), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            result.Ended = Incoming.Lost(ex);
            return result;
        }

        while (pending.Count > 0 || replayLeft.Count > 0)
        {
            var next = await ReceiveNextAsync(socket).ConfigureAwait(false);
            if (next.Ended)
            {
                result.Ended = next;
                return result;
            }
            switch (next.Event)
            {
                case SubscribedReply reply when reply.RequestId is { } id && pending.Remove(id, out var target):
                    result.Recovered &= reply.Recovered && reply.Epoch == list.Epoch;
                    if (reply.Replayed > 0)
                    {
                        replayLeft[target.ProcessId] = reply.Replayed;
                    }
                    break;
                case HubError { RequestId: { } id } when pending.Remove(id, out _):
                    result.Recovered = false; // e.g. rate_limited: the list still has the process's state
                    break;
                // A replayed event is one the list already covers (seq up to the listed one): events after the list
                // are live, and only those can arrive before the subscribed reply.
                case ProcessEvent processEvent when byProcess.TryGetValue(processEvent.ProcessId, out var resumed) && processEvent.Seq <= resumed.ListedSeq:
                    processEvent.IsReplay = true;
                    result.Replayed.Add(processEvent);
                    CountReplayed(replayLeft, processEvent.ProcessId);
                    break;
                case { } other:
                    // A replayed event past the first list's seq (the hub relisted meanwhile, 11.3) still counts
                    // towards its reply's count; uncounted, the resume waited for it for ever.
                    if (other is ProcessEvent late)
                    {
                        CountReplayed(replayLeft, late.ProcessId);
                    }
                    result.Held.Add(other);
                    break;
            }
        }
        return result;
    }

    // One more of a process's replay is in; the resume waits while any reply's count is not.
    private static void CountReplayed(Dictionary<string, int> replayLeft, string processId)
    {
        if (!replayLeft.TryGetValue(processId, out int left))
        {
            return;
        }
        if (left <= 1)
        {
            replayLeft.Remove(processId);
        }
        else
        {
            replayLeft[processId] = left - 1;
        }
    }

    // docs/protocol.md section 11: the hubs of a cluster share the epoch, so the next one is as good as the last.
    private void MoveToNextUrl() => Volatile.Write(ref _urlIndex, (_urlIndex + 1) % _urls.Length);

    private async Task<OpenAttempt> OpenAsync(Uri url, string? rejectedToken, string? rejectedBecause, CancellationToken cancellationToken)
    {
        string token;
        try
        {
            token = _options.TokenProvider is { } provider
                ? ClientChecks.Provided(await provider(cancellationToken).ConfigureAwait(false))
                : _token!;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return OpenAttempt.Cancelled;
        }
        catch (Exception ex) when (IsNetworkFailure(ex))
        {
            return OpenAttempt.Failed(ex);
        }
        if (token == rejectedToken)
        {
            return OpenAttempt.GiveUp(new HubConnectionException($"the hub rejected the token (4401 {rejectedBecause}) and the token provider gave the same one again", 4401) { CloseReason = rejectedBecause });
        }

        try
        {
            return OpenAttempt.Opened(await WatchSocket.ConnectAsync(_options, url, token, cancellationToken).ConfigureAwait(false), token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return OpenAttempt.Cancelled;
        }
        catch (UpgradeRejectedException ex) when (!ex.IsTransient)
        {
            return OpenAttempt.GiveUp(new HubConnectionException($"{SafeUrl.Of(url)} answered {ex.Status} to the WebSocket upgrade: is it a ProcessHub /ws endpoint?", innerException: ex));
        }
        catch (Exception ex) when (ex is UpgradeRejectedException || IsNetworkFailure(ex))
        {
            return OpenAttempt.Failed(ex);
        }
    }

    private static bool IsNetworkFailure(Exception ex) =>
        ex is WebSocketException or HttpRequestException or IOException or SocketException or TimeoutException or OperationCanceledException;

    /// <summary>The next message as an event, already observed for pending cancels; never throws for a broken connection.</summary>
    private async Task<Incoming> ReceiveNextAsync(WatchSocket socket)
    {
        ReadOnlyMemory<byte>? message;
        try
        {
            message = await socket.ReceiveAsync().ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            return Incoming.TooBig(ex);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            return Incoming.Lost(ex);
        }
        if (message is not { } utf8)
        {
            return Incoming.Closed(socket.CloseStatus ?? 1005, socket.CloseStatusDescription ?? "");
        }
        HubEvent hubEvent;
        try
        {
            hubEvent = HubMessageParser.Parse(utf8.Span);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not ours to fail on: the hub's messages are JSON objects, and a value that cannot be read (a string
            // that is no valid Unicode, say) must not end the watch.
            return Incoming.Message(null);
        }
        Observe(hubEvent);
        return Incoming.Message(hubEvent);
    }

    private TimeSpan NextDelay(ref int failures, ref int failedInARow, string reason, Exception? exception, bool connected = false)
    {
        failures++;
        // MaxFailedAttempts counts attempts that failed to connect (a drop after a list counts once, as the first of
        // a series); the backoff alone keeps growing over drops soon after a list (StableAfter).
        failedInARow = connected ? 1 : failedInARow + 1;
        if (_options.MaxFailedAttempts is { } limit && failedInARow >= limit)
        {
            throw new HubConnectionException($"gave up on {SafeUrl.Of(CurrentUrl)} after {limit} attempts ({reason})", innerException: exception);
        }
        return _backoff.Delay(failures - 1);
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
