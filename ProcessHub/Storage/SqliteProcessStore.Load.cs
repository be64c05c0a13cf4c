using Microsoft.Data.Sqlite;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Storage;

/// <summary>Reading back what the store holds when the hub starts, and the writer's bookkeeping with it.</summary>
internal sealed partial class SqliteProcessStore
{
    private List<StoredProcess> Load(SqliteConnection connection)
    {
        var byKey = new Dictionary<long, Loaded>();
        using (var readProcesses = connection.CreateCommand())
        {
            readProcesses.CommandText = """
                SELECT key, id, type, owner, params, started_at, in_process, status, seq, progress, last_changed_at, ended_at, result, error, cancelled_by,
                    idempotency_caller, idempotency_key, idempotency_request
                FROM processes
                """;
            using var rows = readProcesses.ExecuteReader();
            while (rows.Read())
            {
                // Read as the writer wrote it; a row in any other form (edited by hand, or by another program) stops
                // the start with a message that names it, not with a cast's stack trace (StoreOpenException, Open).
                string id = rows.GetString(1);
                var row = new RowReader(rows, id);
                // Range-checked before the cast: the enum is a byte, and (ProcessStatus)256 would be Running.
                long status = rows.GetFieldType(7) == typeof(long) ? rows.GetInt64(7) : -1;
                if (status is < 0 or > byte.MaxValue || !Enum.IsDefined((ProcessStatus)status))
                {
                    throw new InvalidDataException($"process {id}: its status {rows.GetValue(7)} is not one ProcessHub writes");
                }
                var state = new ProcessState(
                    Status: (ProcessStatus)status,
                    Seq: row.Count(8, "seq"),
                    ProgressJson: row.Json(9, "progress")!,
                    LastChangedAt: row.Time(10, "last_changed_at"),
                    EndedAt: rows.IsDBNull(11) ? null : row.Time(11, "ended_at"),
                    ResultJson: row.Json(12, "result"),
                    ErrorJson: row.Json(13, "error"),
                    CancelledBy: rows.IsDBNull(14) ? null : rows.GetString(14));
                long key = rows.GetInt64(0);
                var idempotency = rows.IsDBNull(15) ? null : new IdempotencyKey(rows.GetString(15), row.Text(16, "idempotency_key"), row.Text(17, "idempotency_request"));
                byKey[key] = new Loaded(key, id, row.Text(2, "type"), row.Text(3, "owner"),
                    row.Json(4, "params"), row.Time(5, "started_at"), rows.GetInt64(6) != 0, state, idempotency);
                _nextProcessKey = Math.Max(_nextProcessKey, key + 1);
            }
        }
        // One pass over the events in the order they were committed: a process's events arrive in seq order. Events
        // name their process by its key, so no string is read per event (a million events at the restart target).
        // Read where SQLite holds each payload (SqliteRawStatement) and copied once, into the arena; history frames
        // an event only when a replay asks for it.
        var payloads = new PayloadArena();
        using (var readEvents = new SqliteRawStatement(connection, "SELECT id, process, seq, kind, payload FROM events ORDER BY id"))
        {
            while (readEvents.Read())
            {
                long id = readEvents.Int64(0);
                _nextEventId = Math.Max(_nextEventId, id + 1);
                if (byKey.TryGetValue(readEvents.Int64(1), out var process))
                {
                    int kind = readEvents.Int32(3);
                    var payload = readEvents.Blob(4);
                    // An event goes to tabs as a text frame, as it is: one that is not UTF-8 would make each fail its
                    // connection (RFC 6455 8.1) at every replay.
                    // UTF-8 and no lone surrogate only, not a JSON parse as well: at a million events that would add a
                    // few tenths of a second to every restart, for rows nothing but this hub writes.
                    bool knownKind = kind is >= 0 and <= byte.MaxValue && Enum.IsDefined((HubEventKind)kind);
                    if (!knownKind || !System.Text.Unicode.Utf8.IsValid(payload) || LoneSurrogates.In(payload))
                    {
                        throw new InvalidDataException($"process {process.Id}: its event {readEvents.Int64(2)} (row {id}) is {(knownKind ? "not UTF-8 that clients can read" : $"of kind {kind}, not one ProcessHub writes")}");
                    }
                    process.Events.Add(new StoredEvent(readEvents.Int64(2), (HubEventKind)kind, payloads.Copy(payload)));
                    process.EventIds.Add(id);
                }
                else
                {
                    _deletable.Enqueue(id); // left behind by a process removed meanwhile
                }
            }
        }
        var processes = new List<StoredProcess>(byKey.Count);
        foreach (var process in byKey.Values.OrderBy(p => p.StartedAt))
        {
            processes.Add(process.ToStored(this));
        }
        return processes;
    }

    /// <summary>A process row's columns, each in the form the writer gives it or an <see cref="InvalidDataException"/> naming it.</summary>
    private readonly struct RowReader(SqliteDataReader rows, string processId)
    {
        public string Text(int column, string name) =>
            rows.IsDBNull(column) ? throw Unreadable(name, "empty") : rows.GetString(column);

        public long Count(int column, string name) =>
            rows.GetFieldType(column) == typeof(long) && rows.GetInt64(column) >= 0 ? rows.GetInt64(column) : throw Unreadable(name, "not a number from 0 up");

        /// <summary>A JSON column: a blob of UTF-8 (null when the column is); the writer never writes it as text.</summary>
        public byte[]? Json(int column, string name) =>
            rows.IsDBNull(column) ? null
            : rows.GetValue(column) is byte[] bytes && StoredJson.IsOneValue(bytes) ? bytes
            : throw Unreadable(name, "not a blob of UTF-8 JSON that clients can read");

        public DateTimeOffset Time(int column, string name) =>
            rows.GetFieldType(column) == typeof(long) && rows.GetInt64(column) is var ticks
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
                ? new(ticks, TimeSpan.Zero)
                : throw Unreadable(name, "not a time in ticks");

        private InvalidDataException Unreadable(string name, string what) => new($"process {processId}: its {name} is {what}");
    }

    /// <summary>One process as read, before its events are checked and its state brought up to its last event.</summary>
    private sealed record Loaded(long Key, string Id, string Type, string Owner, byte[]? ParamsJson, DateTimeOffset StartedAt, bool InProcess, ProcessState RowState, IdempotencyKey? Idempotency)
    {
        public List<StoredEvent> Events { get; } = [];

        public List<long> EventIds { get; } = [];

        /// <summary>
        /// Keeps the contiguous tail of events that ends at the last one, within the history limit (older rows past
        /// the slack, and stray rows, are deleted by the writer later), and takes a running process's seq and progress
        /// from that last event: the row of a running process is not rewritten at every report.
        /// </summary>
        public StoredProcess ToStored(SqliteProcessStore store)
        {
            var state = RowState;
            int start = Events.Count;
            if (start > 0)
            {
                long expected = Events[^1].Seq;
                while (start > 0 && Events[start - 1].Seq == expected && Events.Count - start < Math.Max(store._historyLimit, 1))
                {
                    start--;
                    expected--;
                }
            }
            // Rows within the slack stay the process's own: the writer prunes them with its next run, as it would have.
            int rowsFrom = Math.Max(0, start - store._historySlack);
            for (int i = 0; i < rowsFrom; i++)
            {
                store._deletable.Enqueue(EventIds[i]);
            }
            var kept = Events.GetRange(start, Events.Count - start);
            var rows = new StoredRows(Key);
            foreach (long id in EventIds.Skip(rowsFrom))
            {
                rows.Events.Enqueue(id);
            }
            store._rows[Id] = rows;

            if (kept.Count > 0 && kept[^1].Seq > state.Seq && !state.IsEnded)
            {
                var last = kept[^1];
                var payload = EventPayload.Parse(last.Payload.Span);
                state = state with
                {
                    Seq = last.Seq,
                    ProgressJson = payload?.Progress ?? state.ProgressJson,
                    LastChangedAt = payload?.Timestamp ?? state.LastChangedAt,
                };
            }
            if (kept.Count > 0 && kept[^1].Seq != state.Seq)
            {
                // Events that do not end at the state's seq cannot be a replay of it: keep none.
                foreach (long id in rows.Events)
                {
                    store._deletable.Enqueue(id);
                }
                rows.Events.Clear();
                kept.Clear();
            }
            return new StoredProcess(Id, Type, Owner, ParamsJson, StartedAt, InProcess, state, kept, Idempotency: Idempotency);
        }
    }
}
