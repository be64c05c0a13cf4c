using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Outbound;
using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>
/// The single applier: every event reaches this hub's registry through here, in the shared log's order, whether it
/// came by the subscription or was fetched because some were missed.
/// </summary>
internal sealed partial class RedisProcessEngine
{
    private const int FetchBatch = 1000;

    // How many of the last applied offsets are remembered with the event each carried (a ring by offset).
    private const int RecentOffsets = 4096;

    private readonly ConcurrentDictionary<long, TaskCompletionSource> _offsetWaiters = new();
    private long _lastOffset;
    private long _redisOffset;
    private long _gapsFilled;
    private long _resyncs;
    private int _checkRequested;
    private bool _appliedSinceTick;

    // What each of the last applied offsets carried (process id and seq), under the applier's turn: an event at an
    // applied offset that is not the one applied there means Redis went back and handed the offset out again.
    // The event's time is part of it: a producer writing its lost seqs again after Redis went back gets the same
    // offsets and seqs for other events (a "completed" that is now a "cancelled").
    private readonly (long Offset, string? ProcessId, long Seq, long Ticks)[] _recent = new (long, string?, long, long)[RecentOffsets];

    /// <summary>The applier's turn: one message or one check at a time, in the order they take it.</summary>
    private readonly SemaphoreSlim _applying = new(1, 1);

    /// <summary>How long a producer's own event may take by the subscription before the log is read for it.</summary>
    private static readonly TimeSpan NudgeAfter = TimeSpan.FromMilliseconds(50);

    /// <summary>Completes once this hub has applied the event at <paramref name="offset"/> (read your own writes).</summary>
    private async Task WaitAppliedAsync(long offset)
    {
        if (Interlocked.Read(ref _lastOffset) >= offset)
        {
            return;
        }
        var waiter = _offsetWaiters.GetOrAdd(offset, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (Interlocked.Read(ref _lastOffset) >= offset)
        {
            ReleaseWaiters();
        }
        try
        {
            // Awaited here rather than through a ContinueWith, which would queue the producer's answer to the thread
            // pool once more after the waiter's own asynchronous continuation (docs/benchmarks.md, "Scale-out on Redis").
            await waiter.Task.WaitAsync(TimeSpan.FromTicks(Math.Min(NudgeAfter.Ticks, _options.CancelWait.Ticks)), _time).ConfigureAwait(false);
            return;
        }
        catch (TimeoutException)
        {
            // Not back by the subscription yet: it may have dropped the event (a killed or wedged connection, or one
            // that is resubscribing). Fetch from the log now rather than at the next periodic check, which could keep
            // this producer waiting up to a whole check interval.
            RequestCheck();
        }
        try
        {
            await waiter.Task.WaitAsync(TimeSpan.FromTicks(Math.Max(0, (_options.CancelWait - NudgeAfter).Ticks)), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The event is durable either way; a hub whose subscription lags answers after the periodic check at worst.
        }
    }

    /// <summary>
    /// Asks for a check of the log; one request at a time, however many producers wait. The check runs on a pool
    /// thread under the applier's turn, after the event being applied (if any).
    /// </summary>
    private void RequestCheck()
    {
        if (Interlocked.Exchange(ref _checkRequested, 1) == 0)
        {
            _ = Task.Run(RunRequestedCheckAsync);
        }
    }

    private async Task RunRequestedCheckAsync()
    {
        if (!await TakeApplierTurnAsync().ConfigureAwait(false))
        {
            return;
        }
        try
        {
            // Cleared before the check, so that a request made while it runs gets a check of its own after it.
            Interlocked.Exchange(ref _checkRequested, 0);
            await CheckAsync().ConfigureAwait(false);
            if (_applyFailures.Succeed(out long failed))
            {
                _logger.LogInformation("applying events goes on after {Failures} failed in a row", failed);
            }
        }
        catch (Exception ex)
        {
            LogApplyFailure(ex);
        }
        finally
        {
            // Also after a failure part-way through a fill (checks are rare, so a walk over every waiter is cheap here).
            ReleaseWaiters();
            _applying.Release();
        }
    }

    /// <summary>Completes every producer waiting for an offset up to the last one applied.</summary>
    private void ReleaseWaiters()
    {
        long applied = Interlocked.Read(ref _lastOffset);
        foreach (var (offset, waiter) in _offsetWaiters)
        {
            if (offset <= applied && _offsetWaiters.TryRemove(offset, out _))
            {
                waiter.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Completes the producers waiting for the offsets just applied. Each offset has at most one waiter, so a short
    /// step (one event, the usual case) looks up its offsets rather than walking every waiter.
    /// </summary>
    private void ReleaseWaitersAfter(long previous)
    {
        long applied = Interlocked.Read(ref _lastOffset);
        if (applied - previous > 64 || applied < previous)
        {
            ReleaseWaiters();
            return;
        }
        for (long offset = previous + 1; offset <= applied; offset++)
        {
            if (_offsetWaiters.TryRemove(offset, out var waiter))
            {
                waiter.TrySetResult();
            }
        }
    }

    /// <summary>
    /// One message from the subscription, applied on the thread that the client library hands it to: the library
    /// delivers a channel's messages one at a time, in order, so the applier needs no queue (and no thread hand-off)
    /// of its own. Checks take the same turn, which keeps one applier at a time.
    /// </summary>
    private async Task OnEventMessageAsync(ChannelMessage message)
    {
        if (!await TakeApplierTurnAsync().ConfigureAwait(false))
        {
            return;
        }
        long previous = Interlocked.Read(ref _lastOffset);
        try
        {
            Volatile.Write(ref _appliedSinceTick, true);
            await HandleAsync((byte[])message.Message!).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogApplyFailure(ex);
        }
        finally
        {
            // Also after a failure part-way through a fill: the events it did apply have producers waiting.
            ReleaseWaitersAfter(previous);
            _applying.Release();
        }
    }

    /// <summary>Waits for the applier's turn; false once the hub is stopping (the turn is then kept by the stop).</summary>
    private async ValueTask<bool> TakeApplierTurnAsync()
    {
        try
        {
            await _applying.WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        if (_stopping.IsCancellationRequested)
        {
            _applying.Release();
            return false;
        }
        return true;
    }

    private void LogApplyFailure(Exception ex)
    {
        if (ex is UnreadableOffsetException)
        {
            // Not Redis's doing and not ours to repair: said, and the checks go on (each says it again).
            _logger.LogWarning("applying events stopped: {Message}", ex.Message);
        }
        else if (ex is RedisException or RedisTimeoutException)
        {
            // Redis went away or stalled mid-fetch (a timeout is no RedisException): the next check, once it answers,
            // takes up where this stopped. Expected, so one line, not a stack trace.
            // Once per reason and then every 10 s at most: a stalled Redis fails the check every second.
            if (_applyFailures.Fail(ShortReason(ex)))
            {
                _logger.LogWarning("applying events paused ({Failures} failed in a row): {Message}", _applyFailures.FailedInARow, ShortReason(ex));
            }
        }
        else if (!_stopping.IsCancellationRequested)
        {
            _logger.LogError(ex, "applying events failed");
        }
    }

    /// <summary>
    /// The periodic check, for a subscription that has gone quiet: a check of the log after each interval in which
    /// nothing came by the subscription (a wedged or dropped one delivers nothing, and a live one shows a gap by the
    /// next message's offset).
    /// </summary>
    private async Task CheckWhenQuietAsync(CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.CheckInterval, _time, stopping).ConfigureAwait(false);
                if (!Volatile.Read(ref _appliedSinceTick))
                {
                    RequestCheck();
                }
                else
                {
                    await ReadOffsetForLagAsync().ConfigureAwait(false);
                }
                Volatile.Write(ref _appliedSinceTick, false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Redis's offset now, for the lag that <see cref="Health"/> reports, in an interval in which events came: no check
    /// is needed then, but a subscription that delivers every event late applies something in every interval, and the
    /// lag would otherwise read 0 however far behind it is (the quiet check alone measured it).
    /// </summary>
    private async Task ReadOffsetForLagAsync()
    {
        if (_redis is not { IsConnected: true })
        {
            return;
        }
        string epoch = _epoch;
        try
        {
            long offset = await ReadOffsetAsync().ConfigureAwait(false);
            if (epoch == _epoch)
            {
                Interlocked.Exchange(ref _redisOffset, offset); // a reload meanwhile set the offset of its own epoch
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Redis away or slow (or an offset that is not a number): the gauge keeps its last reading, and connected
            // says the rest. Nothing here may end the quiet checks' loop, which this runs in.
            _logger.LogDebug(ex, "reading Redis's offset for the lag failed");
        }
    }

    /// <summary>One event from the subscription: applied if it is the next, after the missed ones if it is not.</summary>
    private async Task HandleAsync(ReadOnlyMemory<byte> bytes)
    {
        if (!RedisEventMessage.TryParse(bytes, out var message))
        {
            _logger.LogWarning("skipped a malformed event message");
            return;
        }
        if (message.Epoch != _epoch)
        {
            await CheckAsync().ConfigureAwait(false);
            return;
        }
        long last = Interlocked.Read(ref _lastOffset);
        if (message.Offset <= last)
        {
            if (IsReused(message))
            {
                // Certain: this offset carried another event here. Redis's offset may already be past this hub's again
                // (producers wrote on before any check), so CheckAsync's comparison alone would not see it.
                _logger.LogWarning("Redis handed out offset {Offset} again for another event within epoch {Epoch} (it lost acknowledged events); starting a new epoch",
                    message.Offset, _epoch);
                await StartNewEpochAsync().ConfigureAwait(false);
                await ResyncAsync().ConfigureAwait(false);
            }
            else if (IsNewTo(message))
            {
                // An offset applied longer ago than remembered, for an event this hub never had: Redis may have gone
                // back (see CheckAsync).
                await CheckAsync().ConfigureAwait(false);
            }
            return; // already applied (fetched with a gap, or loaded)
        }
        if (message.Offset > last + 1)
        {
            // A jump in the offset: the subscription dropped something. Fetch it from the log, this one included.
            await FillFromLogAsync(message.Offset).ConfigureAwait(false);
            return;
        }
        await ApplyAsync(message).ConfigureAwait(false);
    }

    /// <summary>
    /// The periodic check: the epoch is still ours (else Redis lost or reset its data: reload), and this hub has every
    /// event Redis has (else the subscription is wedged or dropped some: fetch them). Redis away: nothing to do.
    /// </summary>
    private async Task CheckAsync()
    {
        if (_redis is not { IsConnected: true })
        {
            return;
        }
        var epoch = await _db.StringGetAsync(_keys.Epoch).ConfigureAwait(false);
        if (epoch.IsNull || epoch != _epoch)
        {
            await ResyncAsync().ConfigureAwait(false);
            return;
        }
        long offset = await ReadOffsetAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _redisOffset, offset);
        long last = Interlocked.Read(ref _lastOffset);
        if (offset < last || (offset == last && !await LastAppliedIsInTheLogAsync().ConfigureAwait(false)))
        {
            // Its offset is behind this hub's, or where this hub's is with another event at it (a fill checks the
            // same before it applies anything, below).
            await WentBackAsync(offset).ConfigureAwait(false);
            return;
        }
        if (offset > last)
        {
            await FillFromLogAsync(offset).ConfigureAwait(false);
        }
        ReleaseWaiters();
    }

    /// <summary>
    /// Redis went back within its epoch: it lost events this hub applied and its tabs saw (a crash with appendfsync
    /// everysec, a failover to a replica that had not got them), and the offsets and seqs it hands out next are
    /// reused for other events. No tab may mix the two: a new epoch, as if the data were lost.
    /// </summary>
    private async Task WentBackAsync(long offset)
    {
        _logger.LogWarning("Redis went back from offset {Applied} (now {Offset}) within epoch {Epoch} (it lost acknowledged events); starting a new epoch",
            Interlocked.Read(ref _lastOffset), offset, _epoch);
        await StartNewEpochAsync().ConfigureAwait(false);
        await ResyncAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the log still holds, at the last offset this hub applied, the event it applied there. A hub that was
    /// away from Redis while Redis lost its last writes and others wrote past them again finds Redis's offset ahead of
    /// its own, fetches from there, and never sees an offset again that it applied: only this tells it that the events
    /// before are others than its tabs saw. One entry read per check. True when there is nothing to compare (nothing
    /// applied since the last load, or the entry already trimmed from the log).
    /// </summary>
    private async Task<bool> LastAppliedIsInTheLogAsync()
    {
        long last = Interlocked.Read(ref _lastOffset);
        var applied = _recent[last % RecentOffsets];
        if (last <= 0 || applied.Offset != last)
        {
            return true;
        }
        var entries = await _db.StreamRangeAsync(_keys.Log, $"{last}-0", $"{last}-0", 1).ConfigureAwait(false);
        if (entries.Length == 0 || !RedisEventMessage.TryParse((byte[])entries[0]["m"]!, out var message))
        {
            return true;
        }
        return message.Epoch == _epoch && message.ProcessId == applied.ProcessId && message.Seq == applied.Seq && message.At.UtcTicks == applied.Ticks;
    }

    /// <summary>
    /// Replaces the epoch this hub holds with a new one, unless another hub did so first (then its epoch stands): of
    /// several hubs that notice the same loss, one new epoch results.
    /// </summary>
    private async Task StartNewEpochAsync()
    {
        await _db.ScriptEvaluateAsync(RedisScripts.NewEpoch, [_keys.Epoch], [_epoch, NewId()]).ConfigureAwait(false);
    }

    /// <summary>Whether this hub applied another event at this message's offset (a repeat is the same process and seq).</summary>
    private bool IsReused(RedisEventMessage message)
    {
        var applied = _recent[message.Offset % RecentOffsets];
        return applied.Offset == message.Offset && (applied.ProcessId != message.ProcessId || applied.Seq != message.Seq || applied.Ticks != message.At.UtcTicks);
    }

    /// <summary>
    /// Whether an event at an offset this hub has already applied is one it never had: the start of a process it does
    /// not know, or a seq past the one it holds. A repeat (fetched from the log, or loaded) is neither.
    /// </summary>
    private bool IsNewTo(RedisEventMessage message)
    {
        var process = _registry.FindRecord(message.ProcessId);
        return process is null ? message.Kind == HubEventKind.Started : message.Seq > process.Published.Seq;
    }

    /// <summary>Fetches and applies the logged events after the last applied one, up to <paramref name="upTo"/>.</summary>
    private async Task FillFromLogAsync(long upTo)
    {
        Interlocked.Increment(ref _gapsFilled);
        if (!await LastAppliedIsInTheLogAsync().ConfigureAwait(false))
        {
            // Back after Redis went back and others wrote past this hub's offset: what follows it in the log does not
            // follow what this hub applied. Checked here, not only by the periodic check: an event by the subscription
            // can bring this hub here first.
            await WentBackAsync(upTo).ConfigureAwait(false);
            return;
        }
        while (Interlocked.Read(ref _lastOffset) < upTo)
        {
            long from = Interlocked.Read(ref _lastOffset) + 1;
            var entries = await _db.StreamRangeAsync(_keys.Log, $"{from}-0", $"{upTo}-0", FetchBatch).ConfigureAwait(false);
            if (entries.Length == 0 || entries[0].Id != $"{from}-0")
            {
                // The log no longer holds what was missed: start over from what Redis holds now.
                _logger.LogWarning("events from offset {From} are no longer in the log; reloading every process", from);
                await ResyncAsync().ConfigureAwait(false);
                return;
            }
            foreach (var entry in entries)
            {
                long next = Interlocked.Read(ref _lastOffset) + 1;
                if (entry.Id != $"{next}-0")
                {
                    break; // a hole in the log: the next read starts at it and finds it gone (a reload, above)
                }
                if (!RedisEventMessage.TryParse((byte[])entry["m"]!, out var message) || message.Offset != next)
                {
                    // Not an event this hub can read (a newer version's message): passed over, or every later read
                    // would start at it again and the applier would never get past it.
                    _logger.LogWarning("skipped the log entry at offset {Offset}: it is not an event this hub can read", next);
                    Interlocked.Exchange(ref _lastOffset, next);
                    continue;
                }
                if (message.Epoch != _epoch)
                {
                    // Logged in another epoch: Redis replaced the one this hub's view is of, whose seqs and offsets
                    // these do not continue. Applied, they would reach tabs under the old epoch; reload instead.
                    _logger.LogWarning("the log entry at offset {Offset} is of epoch {Other}, not {Epoch}; reloading every process", next, message.Epoch, _epoch);
                    await ResyncAsync().ConfigureAwait(false);
                    return;
                }
                await ApplyAsync(message).ConfigureAwait(false);
            }
        }
        Interlocked.Exchange(ref _redisOffset, Math.Max(Interlocked.Read(ref _redisOffset), upTo));
    }

    /// <summary>Replaces this hub's view with what Redis holds now; the tabs get a fresh list (a new epoch, or the same).</summary>
    private async Task ResyncAsync()
    {
        Interlocked.Increment(ref _resyncs);
        string epoch = await EnsureEpochAsync().ConfigureAwait(false);
        long offset = await ReadOffsetAsync().ConfigureAwait(false);
        var stored = await LoadAllAsync(epoch).ConfigureAwait(false);
        if (epoch != _epoch)
        {
            _logger.LogWarning("the shared engine's epoch changed from {Old} to {New} (Redis lost or reset its data); every tab gets a fresh list", _epoch, epoch);
        }
        _epoch = epoch;
        // The offsets remembered belong to the view being replaced (and, in a new epoch, will be handed out again).
        Array.Clear(_recent);
        RememberRunsWithoutTheirRunner(stored);
        _registry.Replace(stored);
        Interlocked.Exchange(ref _lastOffset, offset);
        Interlocked.Exchange(ref _redisOffset, offset);
        ReleaseWaiters();
        if (!_orphans.IsEmpty)
        {
            // Off the applier's turn: a try that fails waits a second before the next.
            StartEndingOrphans();
        }
    }

    /// <summary>
    /// Runs of this hub that Redis holds as running though their runner here is done: Redis came back without their
    /// end (a crash with appendfsync everysec, a restored copy). Nothing would ever end them: the runner has returned,
    /// an in-process run is never judged stale, and this hub's lease does not lapse. Known ended here (or let go after
    /// ending), they are remembered in <see cref="_orphans"/> until Redis holds their end: the reload about to happen
    /// replaces the record that says the runner had finished with one that says "running", so a try that fails
    /// (Redis refused the script, or did not answer in time) could not tell them apart from live runs at the next.
    /// Those Redis no longer holds running are forgotten. Under the applier's turn.
    /// </summary>
    private void RememberRunsWithoutTheirRunner(StoredProcesses stored)
    {
        var remembered = new HashSet<string>(_orphans.Keys, StringComparer.Ordinal);
        _orphans.Clear();
        foreach (var process in stored.Processes)
        {
            if (process.InProcess && process.ProducerHub == HubId && !process.State.IsEnded
                && (remembered.Contains(process.ProcessId) || RunnerIsDone(process.ProcessId)))
            {
                if (!remembered.Contains(process.ProcessId))
                {
                    _logger.LogWarning("process {ProcessId} came back from Redis running, but its runner on this hub had ended; ending it as hub_lost", process.ProcessId);
                }
                _orphans[process.ProcessId] = 0;
            }
        }
    }

    /// <summary>
    /// Whether this hub's runner of a run of its own is done: the run is ended here, or unknown here (let go after it
    /// ended) and not a start whose producer waits for this hub to apply it (a live run this hub has not heard of yet).
    /// </summary>
    private bool RunnerIsDone(string processId) => _registry.FindRecord(processId) is { } known
        ? known.Published.IsEnded
        : !_startsInFlight.ContainsKey(processId) && !_registry.AwaitsProducer(processId);

    /// <summary>Starts <see cref="EndOrphansAsync"/> unless it runs already (it takes up orphans remembered meanwhile).</summary>
    private void StartEndingOrphans()
    {
        if (Interlocked.Exchange(ref _endingOrphans, 1) == 0)
        {
            _ = Task.Run(EndOrphansAsync);
        }
    }

    /// <summary>Ends each remembered orphan as hub_lost, trying again every second until Redis holds its end.</summary>
    private async Task EndOrphansAsync()
    {
        CancellationToken stopping;
        try
        {
            stopping = _stopping.Token;
        }
        catch (ObjectDisposedException)
        {
            return; // stopped: the stop ended this hub's runs, or its lease will lapse
        }
        try
        {
            while (!_orphans.IsEmpty && !stopping.IsCancellationRequested)
            {
                foreach (string id in _orphans.Keys)
                {
                    await TryEndOrphanAsync(id).ConfigureAwait(false);
                }
                if (!_orphans.IsEmpty)
                {
                    await Task.Delay(EndRetryDelay, _time, stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            Interlocked.Exchange(ref _endingOrphans, 0);
        }
        if (!_orphans.IsEmpty && !stopping.IsCancellationRequested)
        {
            StartEndingOrphans(); // remembered after the loop's last look, before it let go of its flag
        }
    }

    private async Task TryEndOrphanAsync(string id)
    {
        if (_registry.FindRecord(id) is not { } process || process.Published.IsEnded)
        {
            _orphans.TryRemove(id, out _); // ended meanwhile (a cancel, another hub), or let go
            return;
        }
        if (!_ending.TryAdd(id, 0))
        {
            return; // another end of it is on its way; looked at again in a second
        }
        try
        {
            // Not waited for: nobody waits on this answer, and the event reaches this hub's tabs as any other.
            await EndOrReportAsync(process, ProcessChange.Fail(RunnerGone), condition: "", conditionArgument: "", waitApplied: false).ConfigureAwait(false);
            _orphans.TryRemove(id, out _); // ended now, or already ("ended", "declined") or gone from Redis ("missing")
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or StoreUnavailableException)
        {
            // Said once per orphan: Redis away for a while would otherwise log it every second.
            if (_orphans.TryUpdate(id, 1, 0))
            {
                _logger.LogWarning("could not end process {ProcessId}: {Message}; trying again every second until Redis takes it", id, ex.Message);
            }
        }
        finally
        {
            _ending.TryRemove(id, out _);
        }
    }

    /// <summary>The epoch Redis holds, created if it holds none (a new or emptied Redis).</summary>
    private async Task<string> EnsureEpochAsync()
    {
        await _db.StringSetAsync(_keys.Epoch, NewId(), when: When.NotExists).ConfigureAwait(false);
        return (string)(await _db.StringGetAsync(_keys.Epoch).ConfigureAwait(false))!;
    }

    /// <summary>Applies one event to the registry (see <see cref="ApplyOneAsync"/>) and remembers what its offset carried.</summary>
    private async Task ApplyAsync(RedisEventMessage message)
    {
        await ApplyOneAsync(message).ConfigureAwait(false);
        _recent[message.Offset % RecentOffsets] = (message.Offset, message.ProcessId, message.Seq, message.At.UtcTicks);
    }

    /// <summary>Applies one event to the registry: the next seq of its process, or nothing if already there.</summary>
    private async Task ApplyOneAsync(RedisEventMessage message)
    {
        var process = _registry.FindRecord(message.ProcessId);
        if (process is null && message.Kind != HubEventKind.Started)
        {
            // Its start was never applied here (this hub reloaded meanwhile): take the process as Redis holds it, unless
            // it is one this hub found it cannot read (read again at every event, it cost a round trip and a warning each).
            if (!IsUnreadable(message.ProcessId) && await LoadOneAsync(message.ProcessId).ConfigureAwait(false) is { } loaded)
            {
                _registry.Add(loaded);
            }
            Interlocked.Exchange(ref _lastOffset, message.Offset);
            return;
        }
        var payload = EventPayload.Parse(message.Payload.Span);
        if (payload is null)
        {
            _logger.LogWarning("skipped event {Seq} of {ProcessId}: its JSON cannot be read", message.Seq, message.ProcessId);
            Interlocked.Exchange(ref _lastOffset, message.Offset);
            return;
        }
        if (process is null)
        {
            var state = new ProcessState(ProcessStatus.Running, message.Seq, payload.Progress ?? "{}"u8.ToArray(), message.At);
            process = new ProcessRecord(message.ProcessId, payload.ProcessType ?? "", payload.Owner ?? "", payload.Params, message.At, state,
                _hubOptions.HistoryLimit, message.InProcess, message.ProducerHub);
            Publish(process, state, message);
        }
        else
        {
            long seq = process.Published.Seq;
            if (message.Seq <= seq)
            {
                Interlocked.Exchange(ref _lastOffset, message.Offset);
                return; // loaded with the process already
            }
            if (message.Seq > seq + 1)
            {
                await FillProcessAsync(process, message.Seq - 1).ConfigureAwait(false);
            }
            Publish(process, Next(process.Published, message, payload), message);
        }
        Interlocked.Exchange(ref _lastOffset, message.Offset);
    }

    /// <summary>The events of one process missing here, from its stream; its history restarts if they are gone.</summary>
    private async Task FillProcessAsync(ProcessRecord process, long upTo)
    {
        long from = process.Published.Seq + 1;
        var entries = await _db.StreamRangeAsync(_keys.ProcessEvents(process.Id), $"{from}-0", $"{upTo}-0").ConfigureAwait(false);
        if (entries.Length == 0 || entries[0].Id != $"{from}-0")
        {
            lock (process.Gate)
            {
                // Trimmed away: no frame may sit at a wrong seq, so history starts over (a tab sees a jump, as after coalescing).
                process.ForgetHistory();
            }
            return;
        }
        foreach (var entry in entries)
        {
            if (!RedisEventMessage.TryParse((byte[])entry["m"]!, out var missed) || missed.Seq != process.Published.Seq + 1
                || EventPayload.Parse(missed.Payload.Span) is not { } payload)
            {
                break; // one this hub cannot read (a newer version's): none after it continues the seqs
            }
            Publish(process, Next(process.Published, missed, payload), missed);
        }
        if (process.Published.Seq < upTo)
        {
            lock (process.Gate)
            {
                // Not filled to the event that comes next: its history would hold frames at the wrong seqs (it counts
                // seqs from the last one), so it starts over, as when the stream was trimmed.
                process.ForgetHistory();
            }
        }
    }

    private void Publish(ProcessRecord process, ProcessState state, RedisEventMessage message)
    {
        // Framed once here from the very bytes every hub received: each hub's tabs get identical frames.
        var frame = SharedFrame.CreateText(message.Payload.Span, message.Kind == HubEventKind.Progress ? FrameKind.Progress : FrameKind.Essential, process.CoalesceKey);
        lock (process.Gate)
        {
            process.Accepted = state;
        }
        _registry.Publish(new PendingEvent(process, state, message.Kind, frame, awaitable: false));
        if (HubEventNames.IsTerminal(message.Kind) && _terminalWaiters.TryRemove(process.Id, out var waiter))
        {
            waiter.TrySetResult(state);
        }
    }

    private static ProcessState Next(ProcessState current, RedisEventMessage message, EventPayload payload) => message.Kind switch
    {
        HubEventKind.Progress => current with { Seq = message.Seq, ProgressJson = payload.Progress ?? current.ProgressJson, LastChangedAt = message.At },
        HubEventKind.Completed => current with { Status = ProcessStatus.Completed, Seq = message.Seq, LastChangedAt = message.At, EndedAt = message.At, ResultJson = payload.Result },
        HubEventKind.Failed => current with { Status = ProcessStatus.Failed, Seq = message.Seq, LastChangedAt = message.At, EndedAt = message.At, ErrorJson = payload.Error },
        HubEventKind.Cancelled => current with { Status = ProcessStatus.Cancelled, Seq = message.Seq, LastChangedAt = message.At, EndedAt = message.At, CancelledBy = payload.CancelledBy },
        _ => current with { Seq = message.Seq },
    };
}
