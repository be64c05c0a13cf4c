using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>
/// Hubs as members: each holds a lease it renews; the processes an in-process producer ran on a hub whose lease lapsed
/// end with <c>hub_lost</c>. Cancels of such processes go to the hub that runs the producer, which fires its token
/// before the process is ended (docs/protocol.md section 11).
/// </summary>
internal sealed partial class RedisProcessEngine
{
    /// <summary>How long a hub waits before it tries again to end a cancelled process whose end Redis refused.</summary>
    private static readonly TimeSpan EndRetryDelay = TimeSpan.FromSeconds(1);

    private static readonly byte[] RunnerGone = ProgressJson.Error("Redis came back with this process running, but its runner on this hub had already ended", "hub_lost");
    private static readonly byte[] HubLost = ProgressJson.Error("the hub running this process is gone (its lease lapsed); its producer is gone with it", "hub_lost");

    private readonly ConcurrentDictionary<string, TaskCompletionSource<ProcessState>> _terminalWaiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _ending = new(StringComparer.Ordinal);
    // Runs of this hub that came back from Redis running though their runner here had ended, until Redis holds their
    // end (see RememberRunsWithoutTheirRunner); the value is 1 once a failed try to end one was logged.
    private readonly ConcurrentDictionary<string, byte> _orphans = new(StringComparer.Ordinal);
    private int _endingOrphans; // 1 while EndOrphansAsync runs
    // In-process starts sent to Redis whose producer has no token from the registry yet (see StartAsync).
    private readonly ConcurrentDictionary<string, byte> _startsInFlight = new(StringComparer.Ordinal);
    // Since when this hub's own lease renewals have all worked (from the first that worked after a failed one, and
    // from when the connection came back): it judges other hubs only a whole lease after that.
    private long _renewingSince;
    private long _lastRenewal; // the last renewal of this loop that worked

    // A renewal failed (or could not be sent) since the last one that worked; read and written by the lease loop only.
    private bool _renewalFailed;

    // Redis refusing or timing out this hub's writes with its link up (Health: not connected); a link that is down is
    // the library's IsConnected. Each kind of write clears only its own mark: a script that only read (a cancel of an
    // ended process) says nothing of writes, and an ACL may take SET and refuse EVAL. A script's refusal counts for a
    // lease at most, so that a hub no producer writes through after the trouble does not stay "not connected".
    private int _leaseRenewalRefused;
    private long _scriptRefusedAt;
    private DateTimeOffset _joinedAt;
    private long _reachableAgainAtTicks;
    private int _outageSeen;

    private void RenewLease() =>
        _db.StringSet(_keys.Lease(HubId), "1", _options.Lease, flags: CommandFlags.FireAndForget);

    private async Task LeaseLoopAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.Lease / 4, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (_redis is not { IsConnected: true })
                {
                    _renewalFailed = true;
                    continue;
                }
                try
                {
                    // Renewed here through the library too (the only renewal when the hub's own lease connection
                    // cannot be used, see RedisLeaseRenewer); this loop also judges the other hubs' leases.
                    await _db.StringSetAsync(_keys.Lease(HubId), "1", _options.Lease).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    // Redis refusing writes (-OOM under noeviction, -READONLY, -BUSY, -NOPERM) or too slow, while the
                    // connection stays up: whatever stops this renewal may stop every hub's, so their leases may lapse
                    // too, and they need a whole lease to renew once it is over. The first hub to renew again must
                    // not end the others' runs as hub_lost meanwhile.
                    _renewalFailed = true;
                    if (ex is RedisServerException or TimeoutException)
                    {
                        Volatile.Write(ref _leaseRenewalRefused, 1);
                    }
                    // Once per reason and then every 10 s at most: Redis full under noeviction refuses every renewal,
                    // every quarter lease, for as long as it lasts (a line each was found by a review).
                    if (_renewalFailures.Fail(ShortReason(ex)))
                    {
                        _logger.LogWarning("lease renewal failed ({Failures} in a row): {Message}", _renewalFailures.FailedInARow, ShortReason(ex));
                    }
                    continue;
                }
                if (_renewalFailures.Succeed(out long renewalsFailed))
                {
                    _logger.LogInformation("lease renewal works again after {Failures} failed in a row", renewalsFailed);
                }
                Volatile.Write(ref _leaseRenewalRefused, 0);
                if (_renewalFailed && _time.GetElapsedTime(_lastRenewal) >= _options.Lease * 3 / 4)
                {
                    // The first renewal that worked after failures long enough for leases to be at risk (two ticks or
                    // more in a row): the whole lease before judging runs from here, however long they lasted. One
                    // failed tick now and then (a momentary stall) does not put judging off: leases outlast it.
                    Interlocked.Exchange(ref _renewingSince, _time.GetTimestamp());
                }
                _renewalFailed = false;
                _lastRenewal = _time.GetTimestamp();
                try
                {
                    // Only a hub whose own renewals have all worked for a whole lease judges others: after an outage,
                    // or a spell of refused writes, every lease may have lapsed, and their hubs need that long to
                    // renew them.
                    if (_time.GetElapsedTime(Interlocked.Read(ref _renewingSince)) >= _options.Lease)
                    {
                        await ReapLostHubsAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or StoreUnavailableException)
                {
                    // Redis stalled past the timeout (a RedisTimeoutException is a TimeoutException, not a RedisException)
                    // or went away mid-reap: the next tick tries again. This loop must outlive any outage, or lost hubs'
                    // processes would never end and this hub's own lease would rest on the renewer alone.
                    _logger.LogWarning("the check of other hubs' leases failed: {Message}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Ends, as <c>hub_lost</c>, the running processes of hubs whose lease has lapsed; one whose cancel was sent to its
    /// hub within <see cref="CancelSentFor"/> (cancel.lua) as cancelled.
    /// </summary>
    private async Task ReapLostHubsAsync()
    {
        var alive = new Dictionary<string, bool>(StringComparer.Ordinal) { [HubId] = true };
        foreach (var process in _registry.Records)
        {
            if (!process.InProcess || process.ProducerHub is not { } hub || process.Published.IsEnded)
            {
                continue;
            }
            if (!alive.TryGetValue(hub, out bool isAlive))
            {
                alive[hub] = isAlive = await _db.KeyExistsAsync(_keys.Lease(hub)).ConfigureAwait(false);
            }
            if (!isAlive && _ending.TryAdd(process.Id, 0))
            {
                try
                {
                    // A cancel stored while the hub still held its lease was sent to that hub, which went before it could
                    // carry it out: the run ends as the cancel it was asked to be. Ending it as hub_lost instead made the
                    // canceller's answer depend on whether the lease or the asking hub's 5-s wait ran out first
                    // (docs/protocol.md decision 76).
                    // The mark lives for the asking hub's wait and two leases (CancelSentFor): a cancel that was
                    // answered "unavailable" long ago, and left the producer going, does not count.
                    var cancelledBy = (string?)await _db.StringGetAsync(_keys.CancelSent(process.Id)).ConfigureAwait(false);
                    var change = cancelledBy is null ? ProcessChange.Fail(HubLost) : ProcessChange.Cancel(cancelledBy);
                    // The script checks the lease again: a hub that renewed meanwhile keeps its processes. Not waited
                    // until applied here: nobody reads the answer, and waiting up to 5 s a run for a busy applier held
                    // this loop, the lease renewal it also makes among them, and the reaping of the next runs.
                    var ended = await EndOrReportAsync(process, change, condition: "lost", conditionArgument: "", waitApplied: false).ConfigureAwait(false);
                    if (ended.Status == TransitionStatus.Accepted)
                    {
                        // Said by the one hub whose script ended it (the others find it ended): an operator reading why a
                        // run stopped finds it here, beside the dead hub's silence.
                        _logger.LogWarning(cancelledBy is null
                            ? "hub {Hub}'s lease lapsed: its run {ProcessId} ended as hub_lost"
                            : "hub {Hub}'s lease lapsed: its run {ProcessId} ended as the cancel it had been sent", hub, process.Id);
                    }
                }
                finally
                {
                    _ending.TryRemove(process.Id, out _);
                }
            }
        }
    }

    private void EndStale()
    {
        var staleAfter = _hubOptions.StaleAfter;
        if (staleAfter <= TimeSpan.Zero)
        {
            return;
        }
        if (_redis is not { IsConnected: true })
        {
            Volatile.Write(ref _outageSeen, 1);
            return;
        }
        var now = _time.GetUtcNow();
        if (Interlocked.Exchange(ref _outageSeen, 0) != 0)
        {
            // Workers got 503 throughout an outage of this hub's connection to Redis (seen by a sweep, or by the
            // library's event for one too short for a sweep to see): their silence then was not theirs (decision
            // 59). The limit runs again from the first sweep that finds the connection back. Judged from sweeps, not
            // from the library's events, which can come in either order or not at all (a failed start attempt, a
            // node of several that stays away), so nothing can leave the judgement off for good.
            Interlocked.Exchange(ref _reachableAgainAtTicks, now.UtcTicks);
            return;
        }
        var cutoff = now - staleAfter;
        if (_joinedAt > cutoff || Interlocked.Read(ref _reachableAgainAtTicks) > cutoff.UtcTicks)
        {
            // As on a lone hub: a hub that just started (every hub, after the whole deployment was down) gives workers
            // the whole --stale-after to report again, and so does a hub back from an outage of its own.
            return;
        }
        foreach (var process in _registry.Records)
        {
            var state = process.Published;
            // In-process producers end with their hub (hub_lost), and may rightly report less often than the limit.
            if (!process.InProcess && !state.IsEnded && state.LastChangedAt <= cutoff && _ending.TryAdd(process.Id, 0))
            {
                var error = ProgressJson.Error(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"no report for {staleAfter.TotalSeconds:0} s: its producer is presumed gone"), "stale");
                _ = EndStaleAsync(process, error, cutoff);
            }
        }
    }

    private async Task EndStaleAsync(ProcessRecord process, byte[] error, DateTimeOffset cutoff)
    {
        try
        {
            // Checked in the script: a report that reached Redis meanwhile keeps it running; of several hubs one wins.
            var outcome = await EndOrReportAsync(process, ProcessChange.Fail(error), condition: "stale", conditionArgument: cutoff.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
            if (outcome.Accepted)
            {
                // Of several hubs' sweeps one wins the script: that hub says it.
                _logger.LogInformation("process {ProcessId} ended as stale: no report for {Seconds} s (--stale-after)", process.Id, (long)_hubOptions.StaleAfter.TotalSeconds);
            }
        }
        catch (Hub.StoreUnavailableException)
        {
            // Redis is away: the next sweep tries again.
        }
        finally
        {
            _ending.TryRemove(process.Id, out _);
        }
    }

    /// <summary>
    /// How long the mark of a cancel sent to the producer's hub lasts (cancel.lua): this hub's wait for that hub, and
    /// then two leases, time enough for a hub that died meanwhile to be found lost and its run ended as the cancel.
    /// </summary>
    private TimeSpan CancelSentFor => _options.CancelWait + (2 * _options.Lease);

    /// <summary>
    /// docs/protocol.md section 11: a cancel of a process whose producer runs in a live hub is that hub's to carry out
    /// (its token fires first); any other is ended here at once. Waits for the end to be applied here.
    /// </summary>
    private async Task<TransitionOutcome> CancelAsync(ProcessRecord process, string cancelledBy)
    {
        if (process.InProcess && process.ProducerHub == HubId)
        {
            return await CancelOwnAsync(process, cancelledBy).ConfigureAwait(false);
        }
        // Shared by every cancel of the process that waits here (a double click, two tabs): only the applier, which
        // completes it with the end, takes it away, and a cancel that learns its process has ended leaves it for the
        // others. Taken away by that one, the end applied later would find no waiter, and a cancel that Redis had sent
        // to the producer's hub would wait out CancelWait and then answer "already ended" for its own cancel.
        var ended = _terminalWaiters.GetOrAdd(process.Id, static _ => new TaskCompletionSource<ProcessState>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (process.Published.IsEnded)
        {
            // Applied before this waiter was made, so nothing will complete it; whoever shares it sees the same end.
            _terminalWaiters.TryRemove(KeyValuePair.Create(process.Id, ended));
            return new TransitionOutcome(TransitionStatus.AlreadyEnded, process.Published);
        }
        var result = await EvaluateCancelAsync(process, cancelledBy).ConfigureAwait(false);
        switch ((string?)result[0])
        {
            case "requested":
                try
                {
                    var state = await ended.Task.WaitAsync(_options.CancelWait, _time).ConfigureAwait(false);
                    return state.Status == ProcessStatus.Cancelled && state.CancelledBy == cancelledBy
                        ? new TransitionOutcome(TransitionStatus.Accepted, state)
                        : new TransitionOutcome(TransitionStatus.AlreadyEnded, state);
                }
                catch (TimeoutException)
                {
                    // The producer's hub holds its lease but did not act: end it from here.
                    _logger.LogWarning("hub {Hub} did not carry out the cancel of {ProcessId} in time; ending it here", process.ProducerHub, process.Id);
                    break;
                }
            case "direct":
                break;
            case "ended":
                // Its end is on its way to this hub's applier, which completes the waiter for any other cancel.
                return new TransitionOutcome(TransitionStatus.AlreadyEnded, EndedState(process, (string)result[1]!));
            case "missing":
                // Gone from Redis: no end will come to complete the waiter.
                _terminalWaiters.TryRemove(KeyValuePair.Create(process.Id, ended));
                return TransitionOutcome.NotFound;
            default:
                throw EpochChanged(result);
        }
        // The end made here (or found made) is applied here too, and completes the waiter for any other cancel.
        return await EndOrReportAsync(process, ProcessChange.Cancel(cancelledBy), condition: "", conditionArgument: "").ConfigureAwait(false);
    }

    /// <summary>cancel.lua: stores the cancel, and sends it to the producer's hub when that is another live hub.</summary>
    private Task<RedisResult[]> EvaluateCancelAsync(ProcessRecord process, string cancelledBy) =>
        EvaluateAsync(RedisScripts.Cancel, [_keys.Epoch, _keys.Process(process.Id), _keys.CancelSent(process.Id)],
            [_epoch, process.Id, cancelledBy, _keys.LeasePrefix, _keys.Control.ToString(), HubId, (long)CancelSentFor.TotalMilliseconds]);

    /// <summary>
    /// The producer runs here. The cancel is stored first (cancel.lua marks the process, publishing nothing), then the
    /// producer's token fires, then the process ends as cancelled: a cancel Redis refused (503, "nothing changed")
    /// leaves the producer going, and no tab on any hub sees <c>process_cancelled</c> before the token fired.
    /// </summary>
    private async Task<TransitionOutcome> CancelOwnAsync(ProcessRecord process, string cancelledBy)
    {
        var result = await EvaluateCancelAsync(process, cancelledBy).ConfigureAwait(false);
        switch ((string?)result[0])
        {
            case "own":
                break;
            case "ended":
                return new TransitionOutcome(TransitionStatus.AlreadyEnded, EndedState(process, (string)result[1]!));
            case "missing":
                return TransitionOutcome.NotFound;
            default:
                throw EpochChanged(result);
        }
        process.CancelProducer();
        try
        {
            return await EndOrReportAsync(process, ProcessChange.Cancel(cancelledBy), condition: "", conditionArgument: "").ConfigureAwait(false);
        }
        catch (StoreUnavailableException)
        {
            // Redis took the cancel and the producer has stopped, but refused the end just after: the process must not
            // stay running with nobody driving it, so this hub ends it as soon as Redis lets it.
            _ = EndCancelledUntilStoredAsync(process, cancelledBy);
            throw;
        }
    }

    /// <summary>Ends as cancelled a process whose producer was told, trying again every second until Redis takes it.</summary>
    private async Task EndCancelledUntilStoredAsync(ProcessRecord process, string cancelledBy)
    {
        CancellationToken stopping;
        try
        {
            stopping = _stopping.Token;
        }
        catch (ObjectDisposedException)
        {
            return; // stopped: the stop ended this hub's runs (hub_lost), or its lease will lapse
        }
        while (!process.Published.IsEnded)
        {
            try
            {
                await Task.Delay(EndRetryDelay, _time, stopping).ConfigureAwait(false);
                // Not waited for: nobody waits on this answer, and the event reaches this hub's tabs as any other.
                await EndOrReportAsync(process, ProcessChange.Cancel(cancelledBy), condition: "", conditionArgument: "", waitApplied: false).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException ex)
            {
                _logger.LogWarning("the end of cancelled {ProcessId} waits for Redis: {Message}", process.Id, ex.Message);
            }
        }
    }

    /// <summary>A message on the control channel: <c>cancel {hub} {process id} {who}</c>, for this hub or another.</summary>
    private void OnControl(string message)
    {
        var parts = message.Split(' ', 4);
        if (parts.Length != 4 || parts[0] != "cancel" || parts[1] != HubId)
        {
            return;
        }
        if (_registry.FindRecord(parts[2]) is not { } process)
        {
            // A run started here whose start this hub has not applied yet (its applier is behind): its producer holds
            // the token the record will take. Told now, as for a run this hub knows; the asking hub ends the run.
            // Looked up again when there is no such token: the start may have been applied (and taken the token)
            // between the two.
            if (_registry.CancelAwaitedProducer(parts[2]) || _registry.FindRecord(parts[2]) is not { } arrived)
            {
                return;
            }
            process = arrived;
        }
        string cancelledBy = parts[3];
        _ = Task.Run(async () =>
        {
            if (process.Published.IsEnded)
            {
                return;
            }
            // The asking hub's cancel script stored the cancel (the mark) in the same step that published this
            // message, so the token fires at once. Running the cancel script again here first put a round trip, and its
            // failure, between the stored cancel and the token: a script refused or timed out here left the producer
            // untold until the asking hub ended the process itself 5 s later, and its tabs saw process_cancelled first.
            try
            {
                process.CancelProducer();
                await EndOrReportAsync(process, ProcessChange.Cancel(cancelledBy), condition: "", conditionArgument: "").ConfigureAwait(false);
            }
            catch (StoreUnavailableException ex)
            {
                // The producer has been told: the process must not stay running with nobody driving it.
                _logger.LogWarning("the end of {ProcessId}, cancelled from another hub, waits for Redis: {Message}", process.Id, ex.Message);
                _ = EndCancelledUntilStoredAsync(process, cancelledBy);
            }
            catch (Exception ex)
            {
                _logger.LogWarning("cancelling {ProcessId} as asked failed: {Message}", process.Id, ex.Message);
            }
        });
    }

    /// <summary>At a clean stop: the processes this hub's producers run cannot go on without it.</summary>
    private async Task EndOwnProcessesAsync(string reason)
    {
        var error = ProgressJson.Error(reason, "hub_lost");
        foreach (var process in _registry.Records)
        {
            if (process.InProcess && process.ProducerHub == HubId && !process.Published.IsEnded)
            {
                try
                {
                    // Not waited for here: the stop holds the applier's turn, so the event could not be applied here
                    // and each end would wait out the whole cancel wait while this hub's lease runs out.
                    await EndOrReportAsync(process, ProcessChange.Fail(error), condition: "", conditionArgument: "", waitApplied: false).ConfigureAwait(false);
                }
                catch (Hub.StoreUnavailableException ex)
                {
                    _logger.LogWarning("could not end {ProcessId} at stop ({Reason}); unless Redis stored the end all the same, another hub ends it with hub_lost once this hub's lease has lapsed",
                        process.Id, WhatWentWrong(ex.Message));
                }
            }
        }
    }

    /// <summary>
    /// The first clause of a refusal's message: what went wrong. The rest is advice to the producer that was refused
    /// (try again, Idempotency-Key), which reads as nonsense in the log of a hub that is stopping.
    /// </summary>
    private static string WhatWentWrong(string message)
    {
        int end = message.IndexOfAny([';', ':']);
        return end < 0 ? message : message[..end];
    }

    private void OnConnectionFailed(ConnectionFailedEventArgs failure)
    {
        if (failure.ConnectionType == ConnectionType.Interactive)
        {
            Volatile.Write(ref _outageSeen, 1);
            _logger.LogWarning("lost Redis ({Type} connection: {Failure}); producers get 503 until it is back", failure.ConnectionType, failure.FailureType);
        }
        else
        {
            // Producers are not affected: their scripts go over the interactive connection. Events published meanwhile
            // are fetched from the log once the subscription is back (docs/protocol.md section 11.3).
            if (_subscriptionDrops.TryPass(_time.GetUtcNow(), out long heldBack))
            {
                _logger.LogWarning("lost Redis ({Type} connection: {Failure}); events published meanwhile are fetched from the log once it is back{HeldBack}",
                    failure.ConnectionType, failure.FailureType, HeldBackText(heldBack));
            }
        }
    }

    /// <summary>
    /// After a reconnect, whether Redis took the hub back as the user of --redis. A Redis restarted without that user
    /// (one made with ACL SETUSER and never saved with ACL SAVE is gone at a restart) refuses its password, and the
    /// client library goes on as 'default', silently: the hub works on with default's rights. At start that stops the
    /// hub; here stopping would take a running hub down for Redis's forgetting, so it is said, each time, as an error.
    /// </summary>
    private async Task SayIfTakenBackAsDefaultAsync()
    {
        // The connection that came back can be unusable for a moment ("no connection is active", as the client library
        // reconnects once more after the refused password), and a check lost to that moment said nothing at all (seen
        // in a fresh-clone run). Asked again every second until Redis answers, for up to WhoAmIAttempts seconds.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                if ((string?)await _db.ExecuteAsync("ACL", "WHOAMI").ConfigureAwait(false) == "default")
                {
                    _logger.LogError("Redis took this hub back as 'default', not as the user of --redis: it refused that user's password (a user made with ACL SETUSER and not saved is gone after a Redis restart); the hub goes on with default's rights until it reconnects as that user");
                }
                return;
            }
            catch (Exception ex) when ((ex is RedisConnectionException or TimeoutException) && attempt < WhoAmIAttempts)
            {
                // Not answering yet: asked again below.
            }
            catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException)
            {
                return; // not permitted, or away for good: nothing to tell
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private const int WhoAmIAttempts = 30;

    private static string HeldBackText(long heldBack) =>
        heldBack == 0 ? "" : $" ({heldBack} more like it in the last 10 s not logged)";

    private void OnConnectionRestored(ConnectionFailedEventArgs restored)
    {
        long heldBack = 0;
        if (restored.ConnectionType == ConnectionType.Interactive || _subscriptionReturns.TryPass(_time.GetUtcNow(), out heldBack))
        {
            _logger.LogInformation("Redis is back ({Type} connection); catching up{HeldBack}", restored.ConnectionType, HeldBackText(heldBack));
        }
        if (restored.ConnectionType == ConnectionType.Interactive)
        {
            // Only an outage of the connection that renews leases can have let every hub's lease lapse: after one, this
            // hub waits a whole lease before it judges others. A subscription that drops and comes back says nothing
            // of leases; waiting after each would put off hub_lost for as long as the drops keep coming.
            Interlocked.Exchange(ref _renewingSince, _time.GetTimestamp());
            RenewLease();
            if (_user is not null)
            {
                _ = Task.Run(SayIfTakenBackAsDefaultAsync);
            }
        }
        // Catch up at once: events published while the subscription was down are in the log (or Redis lost them).
        RequestCheck();
    }
}
