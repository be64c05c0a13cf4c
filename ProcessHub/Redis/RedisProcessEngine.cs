using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>
/// The engine several hubs share (<c>--redis</c>; docs/protocol.md section 11), the Centrifugo way: each transition
/// is one Lua script that checks the process, takes its next seq, appends the event to the process's stream (its
/// history, capped at the history limit) and to a shared log, and publishes it; every hub applies every event, in
/// the log's order, to its own registry, which serves lists, replays and fan-out exactly as for a lone hub. A hub
/// notices a missed event by the log's offset (the next message jumps, or a periodic check sees Redis ahead) and
/// fetches it from the log; if the log has lost it, or Redis lost its data (a new epoch), the hub reloads everything
/// and gives its tabs a fresh <c>process_list</c>.
/// </summary>
internal sealed partial class RedisProcessEngine : IProcessEngine
{
    private readonly ProcessRegistry _registry;
    private readonly RedisEngineOptions _options;
    private readonly HubOptions _hubOptions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private string? _described; // what messages say of --redis (RedisEngineOptions.Describe), made once
    private string? _user; // the user of --redis, if it names one
    private readonly RedisKeys _keys;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Transport.FailureStreak _renewalFailures; // the lease loop's
    private readonly Transport.FailureStreak _applyFailures; // the applier's turn's

    // A subscription that drops and comes back is harmless (the gap is fetched from the log) and can drop often (a
    // proxy's idle timeout, CLIENT KILL): a line each way per drop filled the log (an audit: 50 lines for 25 drops).
    // One of each per 10 s, with how many were held back.
    private readonly Transport.LogThrottle _subscriptionDrops = new(TimeSpan.FromSeconds(10));
    private readonly Transport.LogThrottle _subscriptionReturns = new(TimeSpan.FromSeconds(10));
    private ConnectionMultiplexer? _redis;
    private IDatabase _db = null!;
    private string _epoch = "";
    private Task _quietChecks = Task.CompletedTask;
    private Task _leases = Task.CompletedTask;
    private RedisLeaseRenewer? _leaseRenewer;
    private int _disposed;

    public RedisProcessEngine(ProcessRegistry registry, RedisEngineOptions options, HubOptions hubOptions, TimeProvider time, ILogger logger)
    {
        _registry = registry;
        _registry.MayLagBehindClients = true; // a tab failing over from a hub that was ahead (docs/protocol.md 11.4)
        _options = options;
        _hubOptions = hubOptions;
        _time = time;
        _logger = logger;
        _renewalFailures = new Transport.FailureStreak(TimeSpan.FromSeconds(10), time);
        _applyFailures = new Transport.FailureStreak(TimeSpan.FromSeconds(10), time);
        _keys = new RedisKeys(options.KeyPrefix);
        HubId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    }

    /// <summary>This hub's name among the hubs sharing the engine (new at every start).</summary>
    public string HubId { get; }

    public string Description => $"Redis at {RedactedConfiguration()} (shared; this hub is {HubId})";

    public string StoreKind => "redis";

    // A script call is ordered when Redis runs it; the client library may still hold it back (a reconnect, a script
    // to load first), so a pipelined request waits for the one before it.
    public bool OrdersOnCall => false;

    public string? Location => RedactedConfiguration();

    /// <summary>
    /// Connected while the link is up and Redis took the hub's last write (a script, or the lease renewal every quarter
    /// lease): a Redis that is up but refuses writes (-OOM under noeviction, -READONLY, -NOPERM) or stalls makes every
    /// change 503, so it is not shown as healthy, as a SQLite store that cannot write is not.
    /// </summary>
    public EngineHealth Health => new("redis", _redis?.IsConnected == true && !WritesRefused(), Math.Max(0, Interlocked.Read(ref _redisOffset) - Interlocked.Read(ref _lastOffset)), Interlocked.Read(ref _gapsFilled), Interlocked.Read(ref _resyncs));

    /// <summary>
    /// Connects, joins the hubs (a lease, the events and control channels), and loads every process into the
    /// registry. Events published meanwhile are queued and applied after the load (by offset, and by seq per process,
    /// nothing is applied twice).
    /// </summary>
    /// <exception cref="Storage.StoreOpenException">Redis cannot be reached or refuses the configuration.</exception>
    public void Open()
    {
        if (!RedisEngineOptions.TryParseConfiguration(_options.Configuration, out var parsed, out var problem))
        {
            throw new Storage.StoreOpenException(problem!);
        }
        var configuration = parsed!;
        // Fail fast while Redis is away: a producer gets 503 within a second instead of waiting in a backlog.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = (int)_options.Timeout.TotalMilliseconds * 3;
        configuration.AsyncTimeout = (int)_options.Timeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)_options.Timeout.TotalMilliseconds;
        configuration.ClientName = "processhub-" + HubId;
        _joinedAt = _time.GetUtcNow();
        // The applier's turn is held through the load: events published meanwhile wait in the subscription and are
        // applied after it (by offset, and by seq per process, nothing is applied twice).
        _applying.Wait();
        try
        {
            _registry.Restore(JoinWithinStartWait(configuration));
        }
        finally
        {
            _applying.Release();
        }
        // Taken when the load began, which can be seconds ago: a full lease from now on, before this hub runs anything.
        RenewLease();
        _renewingSince = _time.GetTimestamp();
        _lastRenewal = _renewingSince;
        _quietChecks = Task.Run(() => CheckWhenQuietAsync(_stopping.Token));
        _leases = Task.Run(() => LeaseLoopAsync(_stopping.Token));
        _leaseRenewer = RedisLeaseRenewer.Start(configuration, _keys.LeasePrefix + HubId, _options.Lease, _logger);
        _logger.LogInformation("joined the hubs sharing Redis as {HubId}, epoch {Epoch}, {Count} processes", HubId, _epoch, _registry.Count);
        WarnIfRedisEvicts();
    }

    /// <summary>
    /// Redis evicting keys loses processes, hands out offsets again and drops live hubs' leases (docs/scale-out.md):
    /// said at start when its policy is not <c>noeviction</c>. A Redis that does not answer (a managed one, an ACL
    /// without INFO, no answer in time) is not asked again: the hub says it could not check, so that nobody takes its
    /// silence for a policy that was read and found right.
    /// </summary>
    private void WarnIfRedisEvicts()
    {
        try
        {
            // INFO from a script: the client library keeps INFO and CONFIG for connections that allow admin commands,
            // and Redis keeps CONFIG from scripts.
            string info = (string?)_db.ScriptEvaluate("return redis.call('INFO', 'memory')") ?? "";
            string? policy = info.Split('\n').Select(line => line.Trim()).FirstOrDefault(line => line.StartsWith("maxmemory_policy:", StringComparison.Ordinal))?["maxmemory_policy:".Length..];
            if (policy is null)
            {
                // Answered, but without the line (a provider that trims INFO): as unread as a refusal.
                _logger.LogWarning("could not read Redis's maxmemory-policy (INFO memory has no maxmemory_policy line); make sure it is noeviction, or Redis may evict processes, seqs and leases (docs/scale-out.md)");
            }
            else if (policy != "noeviction")
            {
                _logger.LogWarning("Redis runs with maxmemory-policy {Policy}: when it reaches maxmemory it evicts keys, and processes, seqs and leases go with them; set maxmemory-policy noeviction (docs/scale-out.md)", policy);
            }
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException or NotSupportedException)
        {
            _logger.LogWarning("could not read Redis's maxmemory-policy ({Reason}); make sure it is noeviction, or Redis may evict processes, seqs and leases (docs/scale-out.md)", ShortReason(ex));
        }
    }

    /// <summary>
    /// A failed Redis call's reason for a log line: Redis's own one-line refusal, or for a timeout a fixed phrase, since
    /// the library's timeout text runs to a paragraph of counters that differ at every failure.
    /// </summary>
    private static string ShortReason(Exception ex) =>
        ex is TimeoutException ? "Redis did not answer within the timeout" : ex.Message.Split('\n')[0].Trim();

    /// <summary>
    /// Connects and loads, trying again while Redis is unreachable or too slow until <see cref="RedisEngineOptions.StartWait"/>
    /// has passed (real time: the start is not something a test clock drives). The last failure stops the hub.
    /// </summary>
    private StoredProcesses JoinWithinStartWait(ConfigurationOptions configuration)
    {
        long started = Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return Join(configuration);
            }
            catch (Storage.StoreOpenException ex) when (Stopwatch.GetElapsedTime(started) + delay < _options.StartWait)
            {
                _logger.LogWarning("{Message} Trying again in {Delay:0.##} s (for up to {Wait:0} s since start, --redis-start-wait).",
                    AsSentence(ex.Message), delay.TotalSeconds, _options.StartWait.TotalSeconds);
                // The hub is not listening yet: nothing else to do on this thread but wait, or stop if asked to.
                if (_options.StartAbandoned.WaitHandle.WaitOne(delay))
                {
                    throw new OperationCanceledException("stopped while waiting for Redis at start", _options.StartAbandoned);
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    /// <summary>A reason as the first sentence of a line that goes on: ended with a full stop unless it ends with one or a question.</summary>
    private static string AsSentence(string reason) => reason.EndsWith('.') || reason.EndsWith('?') ? reason : reason + ".";

    /// <summary>One attempt: connect, take the lease, subscribe, agree on the epoch and read every process.</summary>
    private StoredProcesses Join(ConfigurationOptions configuration)
    {
        // The client library's account of the attempt: read (never printed) to tell refused credentials from no answer.
        using var attempt = new StringWriter();
        var redis = ConnectionMultiplexer.Connect(configuration, attempt);
        if (!redis.IsConnected)
        {
            redis.Dispose();
            throw new Storage.StoreOpenException(attempt.ToString().Contains(nameof(ConnectionFailureType.AuthenticationFailure), StringComparison.Ordinal)
                ? $"Redis at {RedactedConfiguration()} refused the hub's credentials: check the user and password of --redis"
                : $"cannot reach Redis at {RedactedConfiguration()}: is it running, and is --redis right?");
        }
        _redis = redis;
        _db = redis.GetDatabase();
        _user = configuration.User is { Length: > 0 } named ? named : null;
        string? signedIn;
        try
        {
            signedIn = _user is null ? null : SignedInAs(redis);
        }
        catch (Storage.StoreOpenException)
        {
            _redis = null;
            redis.Dispose();
            throw;
        }
        if (_user is { } user && signedIn is not null && signedIn != user)
        {
            if (signedIn == "default")
            {
                // Redis refused the user's password, and the client library went on as the user every connection
                // starts as: the hub would have run with that user's rights rather than the ones --redis names.
                _redis = null;
                redis.Dispose();
                throw new Storage.StoreOpenException($"Redis at {RedactedConfiguration()} refused the hub's credentials and signed it in as 'default': check the user and password of --redis");
            }
            // Another answer (a server that words it otherwise): said, not refused.
            _logger.LogWarning("Redis says this hub is signed in as '{SignedIn}', not as the user of --redis", signedIn);
        }
        redis.ConnectionFailed += (_, e) => OnConnectionFailed(e);
        redis.ConnectionRestored += (_, e) => OnConnectionRestored(e);
        try
        {
            RenewLease();
            var subscriber = redis.GetSubscriber();
            subscriber.Subscribe(_keys.Events).OnMessage(OnEventMessageAsync);
            subscriber.Subscribe(_keys.Control).OnMessage(message => OnControl(message.Message.ToString()));
            _epoch = EnsureEpochAsync().GetAwaiter().GetResult();
            Interlocked.Exchange(ref _lastOffset, ReadOffsetAsync().GetAwaiter().GetResult());
            return LoadAllAsync(_epoch).GetAwaiter().GetResult();
        }
        catch (UnreadableOffsetException ex)
        {
            _redis = null;
            redis.Dispose();
            throw new Storage.StoreOpenException($"cannot join the hubs on Redis at {RedactedConfiguration()}: {ex.Message} (another program writes under --redis-prefix?)", ex);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // A RedisTimeoutException (Redis too slow for the load) is a TimeoutException: tried again within
            // --redis-start-wait like an unreachable Redis, then one clear line, never a stack trace.
            _redis = null;
            redis.Dispose();
            // Redis's own error words (NOPERM, LOADING) say what is wrong; the library's messages name endpoints, which
            // a password with a ',' in it can make into one: its type only.
            string why = ex is RedisServerException ? ex.Message : $"{ex.GetType().Name} (timed out or the connection failed)";
            throw new Storage.StoreOpenException($"cannot load from Redis at {RedactedConfiguration()}: {why}", ex);
        }
    }

    /// <summary>Redis's log offset: 0 before anything was appended.</summary>
    /// <exception cref="UnreadableOffsetException">The key holds something that is not a number (not written by a hub).</exception>
    private async Task<long> ReadOffsetAsync()
    {
        var raw = await _db.StringGetAsync(_keys.Offset).ConfigureAwait(false);
        if (raw.IsNull)
        {
            return 0;
        }
        return raw.TryParse(out long offset) ? offset : throw new UnreadableOffsetException($"Redis's offset key {(string?)_keys.Offset} does not hold a number");
    }

    /// <summary>
    /// The user Redis signed the hub in as (<c>ACL WHOAMI</c>); null when Redis will not say (not permitted, or a Redis
    /// without ACLs). No answer at all fails the attempt, to be tried again like any other: taking it as "cannot tell"
    /// let a hub whose password Redis had refused start as 'default' whenever this one reply came late.
    /// </summary>
    /// <exception cref="Storage.StoreOpenException">Redis did not answer in time, the connection dropped, or Redis answered
    /// with an error that passes.</exception>
    private string? SignedInAs(ConnectionMultiplexer redis)
    {
        try
        {
            return (string?)redis.GetDatabase().Execute("ACL", "WHOAMI");
        }
        catch (Exception ex) when (ex is RedisConnectionException or TimeoutException)
        {
            string what = ex is TimeoutException ? $"no answer within {_options.Timeout.TotalSeconds:0.##} s" : "the connection dropped";
            throw new Storage.StoreOpenException($"Redis at {RedactedConfiguration()} did not say which user it signed the hub in as (ACL WHOAMI: {what}).");
        }
        catch (RedisServerException ex) when (!WillNeverSay(ex.Message))
        {
            // -LOADING, -BUSY, -MASTERDOWN and the like pass: the next attempt asks again.
            throw new Storage.StoreOpenException($"Redis at {RedactedConfiguration()} did not say which user it signed the hub in as (ACL WHOAMI: {ex.Message.Split(' ', 2)[0]}).");
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException)
        {
            return null;
        }
    }

    /// <summary>A refusal that asking again will not change: no right to ACL (NOPERM), or a Redis without ACLs.</summary>
    private static bool WillNeverSay(string error) =>
        error.StartsWith("NOPERM", StringComparison.Ordinal) || error.Contains("unknown command", StringComparison.OrdinalIgnoreCase)
        || error.Contains("unknown subcommand", StringComparison.OrdinalIgnoreCase);

    /// <exception cref="ProcessLimitException">The owner already has <see cref="HubOptions.MaxProcessesPerUser"/> running, on any hub.</exception>
    public async ValueTask<ProcessSnapshot> StartAsync(ProcessStart start)
    {
        var now = _time.GetUtcNow();
        var state = new ProcessState(ProcessStatus.Running, Seq: 1, start.ProgressJson, LastChangedAt: now);
        string id = NewId();
        if (start.InProcess)
        {
            // Its runner is about to exist: a reload before this hub applies the start must not take the run, which
            // Redis then holds and this hub does not, for one whose runner is done (RememberRunsWithoutTheirRunner).
            _startsInFlight[id] = 0;
        }
        try
        {
            var result = await EvaluateStartAsync(start, id, now, state, key: null).ConfigureAwait(false);
            long offset = Accepted(result, id);
            await WaitAppliedAsync(offset).ConfigureAwait(false);
            if (start.InProcess)
            {
                // The producer's token, awaited if the start is not applied yet: from here on that marks the run as live.
                _registry.StartedProducerToken(id);
            }
            return _registry.Find(id) ?? new ProcessSnapshot(id, start.ProcessType, start.Owner, start.ParamsJson, now, state);
        }
        finally
        {
            _startsInFlight.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// A start with an <c>Idempotency-Key</c>: the key is looked up and claimed inside the start's own script, so of
    /// concurrent starts with one key, through any hubs, one starts the process and the others name it. The claim is a
    /// key of its own in Redis that lives as long as the process's keys (end.lua gives it their time to live).
    /// </summary>
    /// <exception cref="IdempotencyKeyReusedException">The key started a process for another request.</exception>
    /// <exception cref="ProcessLimitException">A new start, and the owner already has <see cref="HubOptions.MaxProcessesPerUser"/> running, on any hub.</exception>
    public async ValueTask<IdempotentStart> StartIdempotentAsync(ProcessStart start, IdempotencyKey key)
    {
        var now = _time.GetUtcNow();
        var state = new ProcessState(ProcessStatus.Running, Seq: 1, start.ProgressJson, LastChangedAt: now);
        string id = NewId();
        string letGo = "";
        while (true)
        {
            var result = await EvaluateStartAsync(start, id, now, state, key, letGo).ConfigureAwait(false);
            switch ((string?)result[0])
            {
                case "replayed":
                    // Started earlier, perhaps through another hub: this hub catches up with it before naming it, so
                    // that the worker's next request here finds it.
                    string named = (string)result[1]!;
                    long offset = (long)result[2];
                    await WaitAppliedAsync(offset).ConfigureAwait(false);
                    if (_registry.FindRecord(named) is not null || letGo.Length > 0 || Interlocked.Read(ref _lastOffset) < offset)
                    {
                        // Held, or not caught up yet (the wait gives up after a while): a process this hub has not
                        // applied is not one it let go.
                        return new IdempotentStart(named, Replayed: true);
                    }
                    // Caught up, and this hub does not hold it: it let the ended process go (its retention window, or
                    // the owner's cap of ended processes), while Redis keeps its keys a while longer. Named, it would
                    // be a 404 at the worker's next request; as on a lone hub, the key goes with its process, and the
                    // start is made afresh, replacing that claim only if its process has ended (the script checks; a
                    // claim another start took meanwhile is a repeat).
                    letGo = named;
                    continue;
                case "reused":
                    throw new IdempotencyKeyReusedException();
                default:
                    await WaitAppliedAsync(Accepted(result, id)).ConfigureAwait(false);
                    return new IdempotentStart(id, Replayed: false);
            }
        }
    }

    /// <summary>Runs start.lua for a new process <paramref name="id"/>, with the claim of <paramref name="key"/> when given.</summary>
    /// <param name="letGo">With a key: a process the claim may name and be replaced all the same ("" for none).</param>
    private Task<RedisResult[]> EvaluateStartAsync(ProcessStart start, string id, DateTimeOffset now, ProcessState state, IdempotencyKey? key, string letGo = "")
    {
        var (prefix, suffix) = ProcessEventWriter.WriteAroundSeq(id, start.ProcessType, start.Owner, start.ParamsJson, now, state, HubEventKind.Started, now);
        RedisKey[] keys = [_keys.Epoch, _keys.Offset, _keys.Log, _keys.Index, _keys.Process(id), _keys.ProcessEvents(id), _keys.Running];
        RedisValue[] values =
        [
            _epoch, id, start.ProcessType, start.Owner, start.ParamsJson ?? [], Ticks(now), start.InProcess ? "1" : "0",
            start.InProcess ? HubId : "-", start.ProgressJson, prefix, suffix, _hubOptions.HistoryLimit, _options.LogLength,
            _keys.Events.ToString(), _hubOptions.MaxProcessesPerUser,
        ];
        if (key is not null)
        {
            keys = [.. keys, _keys.IdempotencyClaim(key.Caller, key.Key)];
            values = [.. values, key.Request, _keys.Prefix + "p:", letGo];
        }
        return EvaluateAsync(RedisScripts.Start, keys, values);
    }

    public async ValueTask<TransitionOutcome> ApplyAsync(string processId, ProcessChange change)
    {
        if (_registry.FindRecord(processId) is not { } process)
        {
            // Unknown here is not "not found": an in-process start is answered once stored even when this hub has not
            // applied it (its subscription and log read both failed within the wait), and a NotFound would end that
            // producer (AlreadyEnded) while Redis holds its process running for good. Ask Redis; 503 until it is clear.
            switch (await CatchUpAsync(processId).ConfigureAwait(false))
            {
                case CatchUpOutcome.Missing:
                    return TransitionOutcome.NotFound;
                case CatchUpOutcome.Unavailable:
                    throw new StoreUnavailableException("this hub has not applied the process yet (it cannot read what Redis holds); try again");
            }
            if (_registry.FindRecord(processId) is not { } caughtUp)
            {
                return TransitionOutcome.NotFound; // let go between the catch-up and now (the retention window)
            }
            process = caughtUp;
        }
        if (change.Kind == HubEventKind.Cancelled)
        {
            return await CancelAsync(process, change.CancelledBy!).ConfigureAwait(false);
        }
        return await EndOrReportAsync(process, change, condition: "", conditionArgument: "").ConfigureAwait(false);
    }

    public async ValueTask<CatchUpOutcome> CatchUpAsync(string processId)
    {
        // Away from Redis this hub cannot tell a process it has not applied from one that does not exist: "missing"
        // would be final for a worker (404), "unavailable" is retried (503).
        if (_redis is not { IsConnected: true })
        {
            return CatchUpOutcome.Unavailable;
        }
        try
        {
            var status = await _db.HashGetAsync(_keys.Process(processId), "status").ConfigureAwait(false);
            if (status.IsNull)
            {
                return CatchUpOutcome.Missing;
            }
            // Started through another hub a moment ago: wait until this hub has applied everything up to now.
            long offset;
            try
            {
                offset = await ReadOffsetAsync().ConfigureAwait(false);
            }
            catch (UnreadableOffsetException ex)
            {
                // Nothing can be told from it, so "try again", not a 500.
                _logger.LogWarning("{Message}; a lookup cannot tell whether the process exists", ex.Message);
                return CatchUpOutcome.Unavailable;
            }
            RequestCheck();
            await WaitAppliedAsync(offset).ConfigureAwait(false);
            if (_registry.FindRecord(processId) is not null)
            {
                return CatchUpOutcome.Known;
            }
            // Ended, and not held here although everything up to it was applied: this hub let it go (the retention
            // window, or its owner's cap of ended processes) while its keys wait out their time to live in Redis. A lone
            // hub answers 404 then. Not caught up (the wait timed out): this hub cannot tell yet, so 503.
            bool caughtUp = Interlocked.Read(ref _lastOffset) >= offset;
            return status != "running" && caughtUp ? CatchUpOutcome.Missing : CatchUpOutcome.Unavailable;
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            // Also an error Redis answered (-BUSY from a long script, -NOPERM, -LOADING): this hub still cannot tell,
            // so 503 as when Redis is away, not a 500 for what the caller may rightly try again.
            return CatchUpOutcome.Unavailable;
        }
    }

    public void Sweep()
    {
        var evicted = _registry.EvictExpired();
        if (evicted.Count > 0 && _redis?.IsConnected == true)
        {
            // Their keys expire by themselves (end.lua set the retention as their time to live); the index is ours.
            _ = _db.SortedSetRemoveAsync(_keys.Index, [.. evicted.Select(id => (RedisValue)id)], CommandFlags.FireAndForget);
        }
        EndStale();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_quietChecks, _leases).ConfigureAwait(false);
        // The event or check being applied, if any, finishes first; none starts after it (the turn is never given back).
        await _applying.WaitAsync().ConfigureAwait(false);
        // Stopped before the lease is deleted below, so that it cannot set it again after.
        _leaseRenewer?.Dispose();
        if (_redis is { IsConnected: true })
        {
            await EndOwnProcessesAsync("the hub running this process stopped").ConfigureAwait(false);
            try
            {
                await _db.KeyDeleteAsync(_keys.Lease(HubId)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // A stalled Redis times out, and a RedisTimeoutException is no RedisException. The lease lapses by
                // itself; the stop goes on (an exception here ended the process with exit code 1).
                _logger.LogWarning("could not release the lease of {HubId}: {Message}; it lapses by itself", HubId, ex.Message);
            }
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    /// <summary>A progress report or a completion or failure: one script, then the event applied here too.</summary>
    private async Task<TransitionOutcome> EndOrReportAsync(ProcessRecord process, ProcessChange change, string condition, string conditionArgument, bool waitApplied = true)
    {
        var now = _time.GetUtcNow();
        var current = process.Published;
        var state = change.ApplyTo(current, now);
        var (prefix, suffix) = ProcessEventWriter.WriteAroundSeq(process.Id, process.Type, process.Owner, process.ParamsJson, process.StartedAt, state, change.Kind, now);
        RedisResult[] result;
        if (change.Kind == HubEventKind.Progress)
        {
            result = await EvaluateAsync(
                RedisScripts.Progress,
                [_keys.Epoch, _keys.Offset, _keys.Log, _keys.Process(process.Id), _keys.ProcessEvents(process.Id)],
                [_epoch, process.Id, change.Json!, Ticks(now), prefix, suffix, _hubOptions.HistoryLimit, _options.LogLength, _keys.Events.ToString()]).ConfigureAwait(false);
        }
        else
        {
            var (field, value) = change.Kind switch
            {
                HubEventKind.Completed => ("result", (RedisValue)(change.Json ?? [])),
                HubEventKind.Failed => ("error", (RedisValue)change.Json!),
                _ => ("cancelled_by", (RedisValue)change.CancelledBy),
            };
            var lease = condition == "lost" && process.ProducerHub is { } hub ? _keys.Lease(hub) : _keys.Lease(HubId);
            result = await EvaluateAsync(
                RedisScripts.End,
                [_keys.Epoch, _keys.Offset, _keys.Log, _keys.Process(process.Id), _keys.ProcessEvents(process.Id), lease, _keys.Running],
                [_epoch, process.Id, (int)change.Kind, field, value, Ticks(now), prefix, suffix, _hubOptions.HistoryLimit, _options.LogLength,
                 _keys.Events.ToString(), (long)Math.Max(60, _hubOptions.Retention.TotalSeconds + 60), condition, conditionArgument]).ConfigureAwait(false);
        }
        switch ((string?)result[0])
        {
            case "ok":
                if (waitApplied)
                {
                    await WaitAppliedAsync((long)result[2]).ConfigureAwait(false);
                }
                var published = process.Published;
                return new TransitionOutcome(TransitionStatus.Accepted, published.Seq >= (long)result[1] ? published : state with { Seq = (long)result[1] });
            case "ended":
                return new TransitionOutcome(TransitionStatus.AlreadyEnded, EndedState(process, (string)result[1]!));
            case "declined":
                return new TransitionOutcome(TransitionStatus.AlreadyEnded, process.Published);
            case "missing":
                return TransitionOutcome.NotFound;
            default:
                throw EpochChanged(result);
        }
    }

    /// <summary>The script's answer to a start: the offset of its event, or why it failed.</summary>
    private long Accepted(RedisResult[] result, string processId) => (string?)result[0] switch
    {
        "ok" => (long)result[2],
        "exists" => throw new StoreUnavailableException($"process id {processId} is taken; try again"),
        "limit" => throw new ProcessLimitException(_hubOptions.MaxProcessesPerUser),
        _ => throw EpochChanged(result),
    };

    private StoreUnavailableException EpochChanged(RedisResult[] result)
    {
        // Redis lost its data (or was reset) since this hub loaded: its view is reloaded; the producer tries again.
        RequestCheck();
        string now = result.ElementAtOrDefault(1) is { IsNull: false } epoch ? $"epoch {(string?)epoch}" : "it holds no epoch";
        return new StoreUnavailableException($"the shared engine's history was reset ({now}); try again");
    }

    private static ProcessState EndedState(ProcessRecord process, string status)
    {
        var published = process.Published;
        if (published.IsEnded)
        {
            return published;
        }
        // Ended in Redis, not applied here yet: the status is what the caller needs (409 with cancel_requested).
        return published with
        {
            Status = status switch
            {
                "completed" => ProcessStatus.Completed,
                "failed" => ProcessStatus.Failed,
                _ => ProcessStatus.Cancelled,
            },
        };
    }

    /// <summary>Runs a script; Redis away or too slow is 503 for the producer (docs/protocol.md section 11).</summary>
    private async Task<RedisResult[]> EvaluateAsync(string script, RedisKey[] keys, RedisValue[] values)
    {
        if (_redis is not { IsConnected: true })
        {
            throw new StoreUnavailableException("the shared engine (Redis) is unreachable; nothing was stored") { HubStopping = Stopping };
        }
        try
        {
            // Not cut short at the timeout here: the client library checks its timeouts once a second, so a stalled
            // Redis is a 503 after 1-2 s, but a script answered meanwhile is an answer. Abandoned at exactly a second,
            // a script that then ran would have left a start nobody holds (a second process on the producer's retry,
            // or an in-process run with no runner) for a second's gain in the 503.
            var result = (RedisResult[])(await _db.ScriptEvaluateAsync(script, keys, values).ConfigureAwait(false))!;
            Interlocked.Exchange(ref _scriptRefusedAt, 0);
            return result;
        }
        catch (TimeoutException ex)
        {
            Interlocked.Exchange(ref _scriptRefusedAt, _time.GetTimestamp());
            throw new StoreUnavailableException("the shared engine (Redis) did not answer within its timeout: the event may or may not have been stored (a start sent again with the same Idempotency-Key is not started twice)", ex) { HubStopping = Stopping };
        }
        catch (RedisServerException ex)
        {
            // It answered, with an error (-OOM, -BUSY, -NOPERM, -READONLY): its first word says which.
            Interlocked.Exchange(ref _scriptRefusedAt, _time.GetTimestamp());
            throw new StoreUnavailableException($"the shared engine (Redis) refused the script ({ex.Message.Split(' ', 2)[0]}); the event may not be stored", ex) { HubStopping = Stopping };
        }
        catch (RedisConnectionException ex)
        {
            throw new StoreUnavailableException("the shared engine (Redis) is unreachable; the event may not be stored", ex) { HubStopping = Stopping };
        }
    }

    // Once the stop has begun, a refused script is not worth waiting out: the hub's own runs are being ended (or left
    // to the others as hub_lost), and its in-process producers (the benchmark runner) stop instead of retrying every
    // second until the process exits.
    private bool Stopping => Volatile.Read(ref _disposed) != 0;

    private bool WritesRefused()
    {
        long scriptRefusedAt = Interlocked.Read(ref _scriptRefusedAt);
        return Volatile.Read(ref _leaseRenewalRefused) != 0
            || (scriptRefusedAt != 0 && _time.GetElapsedTime(scriptRefusedAt) < _options.Lease);
    }

    // The configuration may hold a password: never printed (RedisEngineOptions.Describe).
    private string RedactedConfiguration() => _described ??= RedisEngineOptions.Describe(_options.Configuration);

    private static RedisValue Ticks(DateTimeOffset at) => at.UtcTicks.ToString(CultureInfo.InvariantCulture);

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}
