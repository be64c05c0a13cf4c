using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using ProcessHub.Hub.Processes;
using SQLitePCL;

namespace ProcessHub.Storage;

/// <summary>
/// The single writer: group commit, then publish. Every event queued while a commit runs goes into the next one, so
/// under load a commit carries hundreds of events for the cost of one write to the log. Events are appended with
/// ids this writer hands out (the table's rowid, in commit order), so a commit writes a few consecutive pages whatever
/// the number of processes it touches; a process's history beyond the limit (and a slack) is deleted by id in runs,
/// in order of id, in the same commit as far as a per-commit budget goes and with the next ones after that, and since
/// every process's oldest rows were written together, those deletes touch a few pages too.
/// </summary>
internal sealed partial class SqliteProcessStore
{
    private const int MaxBatch = 4096;

    // Below this many queued events, the writer yields once before it commits (see WriterLoop).
    private const int CommitDelayBelow = 16;
    private const int Attempts = 3;

    // How many rows one commit deletes: the oldest of processes past their history limit and slack, and strays (left
    // by a removed process, or past a lowered limit at start). A backlog never makes one commit long.
    private const int MaxStrayDeletesPerCommit = MaxBatch;
    private const int MinDeletesPerCommit = 512;

    // What the writer knows of the rows; changed only after a commit succeeds, so that a retried batch sees them as
    // they were.
    private readonly Dictionary<string, StoredRows> _rows = new(StringComparer.Ordinal);
    private readonly Queue<long> _deletable = new();
    private long _nextProcessKey = 1;
    private long _nextEventId = 1;

    // Per batch, reused: processes started in it, events appended by it, processes whose history it pruned, processes
    // removed by it.
    private readonly Dictionary<string, StoredRows> _startedInBatch = new(StringComparer.Ordinal);
    private readonly List<(StoredRows Rows, long EventId)> _appendedInBatch = [];
    private readonly Dictionary<StoredRows, int> _appendedPerProcess = [];
    private readonly HashSet<StoredRows> _prunedInBatch = [];
    private readonly List<long> _prunedIds = [];
    private readonly List<string> _removedInBatch = [];

    // Removals of batches that failed: written with the next batch, so that a failing disk never leaves rows for good.
    private readonly List<string> _deferredRemovals = [];

    private SqliteCommand? _insertProcess;
    private SqliteCommand? _updateProcess;
    private SqliteRawStatement? _insertEvent;
    private SqliteRawStatement? _deleteEvent;
    private SqliteCommand? _deleteProcess;
    private SqliteCommand? _foldInLog;
    private SqliteRawStatement? _begin;
    private SqliteRawStatement? _commit;
    private SqliteRawStatement? _rollback;

    // Set by the checkpointer when a checkpoint found the log past the restart bound (see WalCheckpointer).
    private int _logRestartRequested;

    private void WriterLoop()
    {
        var batch = new List<StoreCommand>(256);
        bool closing = false;
        while (true)
        {
            if (!closing)
            {
                _signal.Wait();
            }
            while (true)
            {
                if (_stopping && !closing)
                {
                    // From here appends are refused, so this drain ends: producers that append again as soon as their
                    // last event is stored (in-process runners) kept the queue from ever being empty, and the hub's
                    // stop waited for them. What is queued, and what raced the flag in, is still written.
                    closing = true;
                    Interlocked.Exchange(ref _closed, 1);
                }
                if (_queue.Count < CommitDelayBelow)
                {
                    // Group commit's delay (PostgreSQL's commit_delay): a commit costs about the same for one event as for
                    // fifty, and the producers that would fill this one are runnable right now, often on this very core.
                    // Giving up the rest of this time slice once lets them queue their events into it.
                    Thread.Yield();
                }
                // Cleared before draining: an append from here on signals again, so nothing waits for a next burst.
                Volatile.Write(ref _wake, 0);
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.TryDequeue(out var command))
                {
                    batch.Add(command);
                }
                if (batch.Count == 0)
                {
                    break;
                }
                if (_deferredRemovals.Count > 0)
                {
                    batch.Insert(0, new StoreCommand(null, [.. _deferredRemovals]));
                    _deferredRemovals.Clear();
                }
                WriteThenPublish(batch);
                if (Volatile.Read(ref _logRestartRequested) != 0)
                {
                    FoldInRestOfLog();
                }
            }
            if (_stopping)
            {
                if (!closing)
                {
                    // Stopping came after the drain's last look: close, and drain once more (without waiting).
                    closing = true;
                    Interlocked.Exchange(ref _closed, 1);
                    continue;
                }
                Interlocked.Exchange(ref _writerGone, 1);
                RefuseQueuedAfterClose();
                return;
            }
        }
    }

    private void WriteThenPublish(List<StoreCommand> batch)
    {
        var failed = _failure;
        if (failed is not null && !RetryDue())
        {
            FailAll(batch, failed);
            return;
        }
        // A store that failed tries once more with this batch (its events were accepted after the retry came due): one
        // attempt, since every second brings another while the disk stays full.
        int attempts = failed is null ? Attempts : 1;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                long started = Stopwatch.GetTimestamp();
                Write(batch);
                Statistics.CountCommit(batch.Count, Stopwatch.GetElapsedTime(started));
                break;
            }
            catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
            {
                if (attempt < attempts)
                {
                    _logger.LogWarning("writing {Count} events failed, retrying: {Message}", batch.Count, ex.Message);
                    Thread.Sleep(20 * attempt);
                    continue;
                }
                // A disk that fails or fills up: nothing can be promised until a write succeeds again, so nothing is
                // accepted for a while. Every event still queued is refused, never published: no client sees what was
                // not stored. Once RetryAfter has passed, the next events are written as a trial.
                Volatile.Write(ref _failedAt, Stopwatch.GetTimestamp());
                _failure = ex;
                if (failed is null)
                {
                    _logger.LogCritical("the process store at {Path} cannot write and refuses events, trying again every {Seconds} s: {Message}",
                        _path, RetryAfter.TotalSeconds, ex.Message);
                }
                FailAll(batch, ex);
                while (_queue.TryDequeue(out var queued))
                {
                    Fail(queued, ex);
                }
                return;
            }
        }
        if (failed is not null)
        {
            _failure = null;
            _logger.LogWarning("the process store at {Path} writes again and takes events", _path);
        }
        foreach (var command in batch)
        {
            if (command.Event is { } pending)
            {
                // Durable now: publish, in the order the events were accepted (seq order per process).
                try
                {
                    _publish(pending);
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "publishing event {Seq} of process {ProcessId} failed", pending.Seq, pending.Process.Id);
                }
            }
        }
    }

    private void RequestLogRestart() => Volatile.Write(ref _logRestartRequested, 1);

    /// <summary>
    /// Between two commits, with this batch already published: folds in what the checkpointer's last pass could not
    /// (the frames written while it ran), so that the next commit starts the log over (see <see cref="WalCheckpointer"/>).
    /// While the checkpointer is in a pass this one is refused at once (busy) and tried again after the next commit.
    /// </summary>
    private void FoldInRestOfLog()
    {
        long started = Stopwatch.GetTimestamp();
        WalCheckpointResult result;
        try
        {
            result = WalCheckpointResult.Run(_foldInLog!);
        }
        catch (SqliteException ex)
        {
            // Not a reason to stop taking events: the log only stays longer, and the checkpointer asks again.
            _logger.LogWarning("folding in the write-ahead log failed: {Message}", ex.Message);
            Volatile.Write(ref _logRestartRequested, 0);
            return;
        }
        if (result.Busy)
        {
            return;
        }
        Volatile.Write(ref _logRestartRequested, 0);
        Statistics.CountLogRestart(Stopwatch.GetElapsedTime(started));
    }

    private void FailAll(List<StoreCommand> batch, Exception failure)
    {
        foreach (var command in batch)
        {
            Fail(command, failure);
        }
    }

    /// <summary>An event is refused (its producer is told); a removal is kept for the next commit that succeeds.</summary>
    private void Fail(StoreCommand command, Exception failure)
    {
        if (command.Event is { } pending)
        {
            pending.MarkFailed(Unavailable(failure));
        }
        else
        {
            _deferredRemovals.AddRange(command.Removed!);
        }
    }

    private void Write(List<StoreCommand> batch)
    {
        _startedInBatch.Clear();
        _appendedInBatch.Clear();
        _appendedPerProcess.Clear();
        _prunedInBatch.Clear();
        _removedInBatch.Clear();
        long nextKey = _nextProcessKey;
        long nextEvent = _nextEventId;
        // Deletes go in order of id, a bounded number a commit, so that processes started together and driven at one
        // pace (whose slacks run out in the same commit) do not make one long commit of all their deletes: at least
        // twice what the batch appends, so the rows to delete never pile up. Older ones waiting first.
        int deleteBudget = Math.Min(MaxStrayDeletesPerCommit, MinDeletesPerCommit + (2 * batch.Count));
        int strays = Math.Min(_deletable.Count, deleteBudget);
        int prunedNow = 0;

        _begin!.Execute();
        try
        {
            foreach (var command in batch)
            {
                if (command.Event is { } pending)
                {
                    var process = pending.Process;
                    StoredRows? rows;
                    if (pending.Kind == HubEventKind.Started)
                    {
                        rows = new StoredRows(nextKey++);
                        _startedInBatch[process.Id] = rows;
                        InsertProcess(rows.Key, pending);
                    }
                    else if (!_startedInBatch.TryGetValue(process.Id, out rows) && !_rows.TryGetValue(process.Id, out rows))
                    {
                        throw new InvalidOperationException($"process {process.Id} has no row in the store");
                    }
                    if (_historyLimit > 0)
                    {
                        var insert = _insertEvent!;
                        insert.Bind(1, nextEvent);
                        insert.Bind(2, rows.Key);
                        insert.Bind(3, pending.Seq);
                        insert.Bind(4, (int)pending.Kind);
                        insert.Bind(5, pending.Frame.Payload);
                        insert.Execute();
                        _appendedInBatch.Add((rows, nextEvent++));
                        _appendedPerProcess[rows] = _appendedPerProcess.GetValueOrDefault(rows) + 1;
                    }
                    // The row keeps what the last event cannot say: the outcome. While the process runs its state is its
                    // last event (the row is rewritten only when no event is kept at all).
                    if (pending.Kind != HubEventKind.Started && (HubEventNames.IsTerminal(pending.Kind) || _historyLimit == 0))
                    {
                        UpdateProcess(rows.Key, pending.State);
                    }
                }
                else
                {
                    foreach (string processId in command.Removed!)
                    {
                        if (_rows.TryGetValue(processId, out var rows))
                        {
                            foreach (long eventId in rows.Events)
                            {
                                DeleteEvent(eventId);
                            }
                            _deleteProcess!.Parameters[0].Value = rows.Key;
                            _deleteProcess.ExecuteNonQuery();
                            _removedInBatch.Add(processId);
                        }
                    }
                }
            }
            foreach (long eventId in _deletable.Take(strays))
            {
                DeleteEvent(eventId);
            }
            // The history limit holds within a slack: once a process has more rows than the limit and the slack, its
            // oldest go in one run, down to the limit: in this commit as far as the budget goes, the rest with the
            // next ones. A delete with every event wrote the page of the process's oldest row in every commit, and a
            // lone producer's commit carries one event: that was a second page written for each of its reports
            // (docs/protocol.md 10.1).
            CollectPruned();
            prunedNow = Math.Min(_prunedIds.Count, deleteBudget - strays);
            for (int i = 0; i < prunedNow; i++)
            {
                DeleteEvent(_prunedIds[i]);
            }
            _commit!.Execute();
        }
        catch
        {
            RollBackIfOpen();
            throw;
        }

        // Committed: now the writer's own bookkeeping moves on.
        _nextProcessKey = nextKey;
        _nextEventId = nextEvent;
        for (int i = 0; i < strays; i++)
        {
            _deletable.Dequeue();
        }
        foreach (var (processId, rows) in _startedInBatch)
        {
            _rows[processId] = rows;
        }
        foreach (var (rows, eventId) in _appendedInBatch)
        {
            rows.Events.Enqueue(eventId);
        }
        foreach (var rows in _prunedInBatch)
        {
            // Exactly the ids CollectPruned took: the oldest, down to the limit.
            while (rows.Events.Count > _historyLimit)
            {
                rows.Events.Dequeue();
            }
        }
        for (int i = prunedNow; i < _prunedIds.Count; i++)
        {
            _deletable.Enqueue(_prunedIds[i]);
        }
        foreach (string processId in _removedInBatch)
        {
            _rows.Remove(processId);
        }
    }

    /// <summary>
    /// The ids to prune in this batch, in order of id (the order on disk: the rows of processes driven together lie
    /// interleaved on the same pages, so a commit's share of them writes a few pages, not one per process): for each
    /// process past the limit and the slack, its oldest rows down to the limit, including the first of this batch's
    /// own when the batch alone brings more than the limit.
    /// </summary>
    private void CollectPruned()
    {
        _prunedIds.Clear();
        foreach (var (rows, appended) in _appendedPerProcess)
        {
            if (rows.Events.Count + appended <= _historyLimit + _historySlack)
            {
                continue;
            }
            _prunedInBatch.Add(rows);
            int excess = rows.Events.Count + appended - _historyLimit;
            _prunedIds.AddRange(rows.Events.Take(excess));
            excess -= rows.Events.Count;
            foreach (var (appendedTo, eventId) in _appendedInBatch)
            {
                if (excess <= 0)
                {
                    break;
                }
                if (appendedTo == rows)
                {
                    _prunedIds.Add(eventId);
                    excess--;
                }
            }
        }
        _prunedIds.Sort();
    }

    private void DeleteEvent(long eventId)
    {
        _deleteEvent!.Bind(1, eventId);
        _deleteEvent.Execute();
    }

    private void InsertProcess(long key, PendingEvent started)
    {
        var process = started.Process;
        var insert = _insertProcess!;
        insert.Parameters[0].Value = key;
        insert.Parameters[1].Value = process.Id;
        insert.Parameters[2].Value = process.Type;
        insert.Parameters[3].Value = process.Owner;
        insert.Parameters[4].Value = (object?)process.ParamsJson ?? DBNull.Value;
        insert.Parameters[5].Value = process.StartedAt.UtcTicks;
        insert.Parameters[6].Value = process.InProcess ? 1 : 0;
        SetState(insert, 7, started.State);
        var idempotency = process.Idempotency;
        insert.Parameters[15].Value = (object?)idempotency?.Caller ?? DBNull.Value;
        insert.Parameters[16].Value = (object?)idempotency?.Key ?? DBNull.Value;
        insert.Parameters[17].Value = (object?)idempotency?.Request ?? DBNull.Value;
        insert.ExecuteNonQuery();
    }

    private void UpdateProcess(long key, ProcessState state)
    {
        var update = _updateProcess!;
        update.Parameters[0].Value = key;
        SetState(update, 1, state);
        update.ExecuteNonQuery();
    }

    // status, seq, progress, last_changed_at, ended_at, result, error, cancelled_by from parameter `first` on.
    private static void SetState(SqliteCommand command, int first, ProcessState state)
    {
        var p = command.Parameters;
        p[first].Value = (int)state.Status;
        p[first + 1].Value = state.Seq;
        p[first + 2].Value = state.ProgressJson;
        p[first + 3].Value = state.LastChangedAt.UtcTicks;
        p[first + 4].Value = state.EndedAt is { } ended ? ended.UtcTicks : DBNull.Value;
        p[first + 5].Value = (object?)state.ResultJson ?? DBNull.Value;
        p[first + 6].Value = (object?)state.ErrorJson ?? DBNull.Value;
        p[first + 7].Value = (object?)state.CancelledBy ?? DBNull.Value;
    }

    private void PrepareStatements(SqliteConnection connection)
    {
        _insertProcess = Prepare(connection, """
            INSERT INTO processes (key, id, type, owner, params, started_at, in_process, status, seq, progress, last_changed_at, ended_at, result, error, cancelled_by,
                idempotency_caller, idempotency_key, idempotency_request)
            VALUES ($key, $id, $type, $owner, $params, $started_at, $in_process, $status, $seq, $progress, $last_changed_at, $ended_at, $result, $error, $cancelled_by,
                $idempotency_caller, $idempotency_key, $idempotency_request)
            """, "$key", "$id", "$type", "$owner", "$params", "$started_at", "$in_process", "$status", "$seq", "$progress", "$last_changed_at", "$ended_at", "$result", "$error", "$cancelled_by",
            "$idempotency_caller", "$idempotency_key", "$idempotency_request");
        _updateProcess = Prepare(connection, """
            UPDATE processes SET status = $status, seq = $seq, progress = $progress, last_changed_at = $last_changed_at,
                ended_at = $ended_at, result = $result, error = $error, cancelled_by = $cancelled_by
            WHERE key = $key
            """, "$key", "$status", "$seq", "$progress", "$last_changed_at", "$ended_at", "$result", "$error", "$cancelled_by");
        _insertEvent = new SqliteRawStatement(connection, "INSERT INTO events (id, process, seq, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5)");
        _deleteEvent = new SqliteRawStatement(connection, "DELETE FROM events WHERE id = ?1");
        _deleteProcess = Prepare(connection, "DELETE FROM processes WHERE key = $key", "$key");
        _foldInLog = Prepare(connection, "PRAGMA wal_checkpoint(PASSIVE)");
        // The transaction's own statements, prepared once: the provider's BeginTransaction and Commit prepare, run and
        // finalize a new statement each time (and set a pragma besides), which with one event a commit was a share of
        // every report's time. The SqliteCommands above have no transaction object; the provider checks only its own.
        _begin = new SqliteRawStatement(connection, "BEGIN IMMEDIATE");
        _commit = new SqliteRawStatement(connection, "COMMIT");
        _rollback = new SqliteRawStatement(connection, "ROLLBACK");
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        command.Prepare();
        return command;
    }

    /// <summary>
    /// After a failed statement or commit: SQLite rolls some failures back by itself (a full disk, an I/O error), so the
    /// transaction is rolled back only if it is still open; a retry then begins a new one.
    /// </summary>
    private void RollBackIfOpen()
    {
        if (raw.sqlite3_get_autocommit(_connection!.Handle) == 0)
        {
            try
            {
                _rollback!.Execute();
            }
            catch (SqliteException ex)
            {
                _logger.LogWarning("rolling back a failed commit failed: {Message}", ex.Message);
            }
        }
    }

    private void DisposeStatements()
    {
        _insertProcess?.Dispose();
        _updateProcess?.Dispose();
        _insertEvent?.Dispose();
        _deleteEvent?.Dispose();
        _deleteProcess?.Dispose();
        _foldInLog?.Dispose();
        _begin?.Dispose();
        _commit?.Dispose();
        _rollback?.Dispose();
    }
}
