using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Storage;

/// <summary>
/// The single writer: group commit, then publish. Every event queued while a commit runs goes into the next one, so
/// under load a commit carries hundreds of events for the cost of one write to the log.
/// </summary>
internal sealed partial class SqliteProcessStore
{
    private const int MaxBatch = 4096;
    private const int Attempts = 3;

    private readonly Dictionary<ProcessRecord, PendingEvent> _lastInBatch = new();
    private SqliteCommand? _insertProcess;
    private SqliteCommand? _updateProcess;
    private SqliteCommand? _insertEvent;
    private SqliteCommand? _pruneEvents;
    private SqliteCommand? _deleteEvents;
    private SqliteCommand? _deleteProcess;

    private void WriterLoop()
    {
        var batch = new List<StoreCommand>(256);
        while (true)
        {
            _signal.Wait();
            while (true)
            {
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
                WriteThenPublish(batch);
            }
            if (_stopping && _queue.IsEmpty)
            {
                return;
            }
        }
    }

    private void WriteThenPublish(List<StoreCommand> batch)
    {
        if (_failure is { } failed)
        {
            FailAll(batch, failed);
            return;
        }
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
                if (attempt < Attempts)
                {
                    _logger.LogWarning("writing {Count} events failed, retrying: {Message}", batch.Count, ex.Message);
                    Thread.Sleep(20 * attempt);
                    continue;
                }
                // A disk that fails or fills up: nothing more can be promised, so nothing more is accepted. Every
                // event still queued is refused, never published: no client sees what was not stored.
                _failure = ex;
                _logger.LogCritical("the process store at {Path} failed and takes no more events: {Message}", _path, ex.Message);
                FailAll(batch, ex);
                while (_queue.TryDequeue(out var queued))
                {
                    queued.Event?.MarkFailed(Unavailable(ex));
                }
                return;
            }
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

    private static void FailAll(List<StoreCommand> batch, Exception failure)
    {
        foreach (var command in batch)
        {
            command.Event?.MarkFailed(Unavailable(failure));
        }
    }

    private void Write(List<StoreCommand> batch)
    {
        var connection = _connection!;
        using var transaction = connection.BeginTransaction();
        Enlist(transaction);
        try
        {
            _lastInBatch.Clear();
            foreach (var command in batch)
            {
                if (command.Event is { } pending)
                {
                    if (pending.Kind == HubEventKind.Started)
                    {
                        InsertProcess(pending);
                    }
                    if (_historyLimit > 0)
                    {
                        var insert = _insertEvent!;
                        insert.Parameters[0].Value = pending.Process.Id;
                        insert.Parameters[1].Value = pending.Seq;
                        insert.Parameters[2].Value = (int)pending.Kind;
                        insert.Parameters[3].Value = pending.Frame.Payload.ToArray();
                        insert.ExecuteNonQuery();
                    }
                    _lastInBatch[pending.Process] = pending;
                }
                else
                {
                    foreach (string processId in command.Removed!)
                    {
                        _deleteEvents!.Parameters[0].Value = processId;
                        _deleteEvents.ExecuteNonQuery();
                        _deleteProcess!.Parameters[0].Value = processId;
                        _deleteProcess.ExecuteNonQuery();
                    }
                }
            }
            // The process row takes the batch's last state of each process; the history keeps its last events.
            foreach (var (process, last) in _lastInBatch)
            {
                if (last.Kind != HubEventKind.Started)
                {
                    UpdateProcess(process.Id, last.State);
                }
                if (last.Seq > _historyLimit)
                {
                    _pruneEvents!.Parameters[0].Value = process.Id;
                    _pruneEvents.Parameters[1].Value = last.Seq - _historyLimit;
                    _pruneEvents.ExecuteNonQuery();
                }
            }
            transaction.Commit();
        }
        finally
        {
            _lastInBatch.Clear();
        }
    }

    private void InsertProcess(PendingEvent started)
    {
        var process = started.Process;
        var state = started.State;
        var insert = _insertProcess!;
        insert.Parameters[0].Value = process.Id;
        insert.Parameters[1].Value = process.Type;
        insert.Parameters[2].Value = process.Owner;
        insert.Parameters[3].Value = (object?)process.ParamsJson ?? DBNull.Value;
        insert.Parameters[4].Value = process.StartedAt.UtcTicks;
        insert.Parameters[5].Value = process.InProcess ? 1 : 0;
        SetState(insert, 6, state);
        insert.ExecuteNonQuery();
    }

    private void UpdateProcess(string processId, ProcessState state)
    {
        var update = _updateProcess!;
        update.Parameters[0].Value = processId;
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
            INSERT INTO processes (id, type, owner, params, started_at, in_process, status, seq, progress, last_changed_at, ended_at, result, error, cancelled_by)
            VALUES ($id, $type, $owner, $params, $started_at, $in_process, $status, $seq, $progress, $last_changed_at, $ended_at, $result, $error, $cancelled_by)
            """, "$id", "$type", "$owner", "$params", "$started_at", "$in_process", "$status", "$seq", "$progress", "$last_changed_at", "$ended_at", "$result", "$error", "$cancelled_by");
        _updateProcess = Prepare(connection, """
            UPDATE processes SET status = $status, seq = $seq, progress = $progress, last_changed_at = $last_changed_at,
                ended_at = $ended_at, result = $result, error = $error, cancelled_by = $cancelled_by
            WHERE id = $id
            """, "$id", "$status", "$seq", "$progress", "$last_changed_at", "$ended_at", "$result", "$error", "$cancelled_by");
        _insertEvent = Prepare(connection, "INSERT INTO events (process_id, seq, kind, payload) VALUES ($process_id, $seq, $kind, $payload)", "$process_id", "$seq", "$kind", "$payload");
        _pruneEvents = Prepare(connection, "DELETE FROM events WHERE process_id = $process_id AND seq <= $up_to", "$process_id", "$up_to");
        _deleteEvents = Prepare(connection, "DELETE FROM events WHERE process_id = $process_id", "$process_id");
        _deleteProcess = Prepare(connection, "DELETE FROM processes WHERE id = $id", "$id");
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

    private void Enlist(SqliteTransaction transaction)
    {
        _insertProcess!.Transaction = transaction;
        _updateProcess!.Transaction = transaction;
        _insertEvent!.Transaction = transaction;
        _pruneEvents!.Transaction = transaction;
        _deleteEvents!.Transaction = transaction;
        _deleteProcess!.Transaction = transaction;
    }

    private void DisposeStatements()
    {
        _insertProcess?.Dispose();
        _updateProcess?.Dispose();
        _insertEvent?.Dispose();
        _pruneEvents?.Dispose();
        _deleteEvents?.Dispose();
        _deleteProcess?.Dispose();
    }
}
