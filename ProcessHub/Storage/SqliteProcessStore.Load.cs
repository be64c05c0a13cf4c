using Microsoft.Data.Sqlite;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;

namespace ProcessHub.Storage;

/// <summary>Reading back what the store holds when the hub starts.</summary>
internal sealed partial class SqliteProcessStore
{
    private List<StoredProcess> Load(SqliteConnection connection)
    {
        var processes = new List<StoredProcess>();
        using var readProcesses = connection.CreateCommand();
        readProcesses.CommandText = """
            SELECT id, type, owner, params, started_at, in_process, status, seq, progress, last_changed_at, ended_at, result, error, cancelled_by
            FROM processes ORDER BY started_at
            """;
        // One query per process for its events: no process id string per event row (a million of them at the
        // restart target of 1,000 processes x 1,000 events).
        using var readEvents = connection.CreateCommand();
        readEvents.CommandText = "SELECT seq, kind, payload FROM events WHERE process_id = $id AND seq > $after ORDER BY seq";
        var id = readEvents.Parameters.Add("$id", SqliteType.Text);
        var after = readEvents.Parameters.Add("$after", SqliteType.Integer);
        using var rows = readProcesses.ExecuteReader();
        while (rows.Read())
        {
            var state = new ProcessState(
                Status: (ProcessStatus)rows.GetInt32(6),
                Seq: rows.GetInt64(7),
                ProgressJson: (byte[])rows.GetValue(8),
                LastChangedAt: Time(rows.GetInt64(9)),
                EndedAt: rows.IsDBNull(10) ? null : Time(rows.GetInt64(10)),
                ResultJson: rows.IsDBNull(11) ? null : (byte[])rows.GetValue(11),
                ErrorJson: rows.IsDBNull(12) ? null : (byte[])rows.GetValue(12),
                CancelledBy: rows.IsDBNull(13) ? null : rows.GetString(13));
            string processId = rows.GetString(0);
            id.Value = processId;
            after.Value = state.Seq - _historyLimit;
            processes.Add(new StoredProcess(
                processId,
                rows.GetString(1),
                rows.GetString(2),
                rows.IsDBNull(3) ? null : (byte[])rows.GetValue(3),
                Time(rows.GetInt64(4)),
                rows.GetInt64(5) != 0,
                state,
                ReadEvents(readEvents, state.Seq)));
        }
        return processes;
    }

    /// <summary>The retained events, which end at the state's seq with no gap (one transaction writes both).</summary>
    private static List<StoredEvent> ReadEvents(SqliteCommand readEvents, long lastSeq)
    {
        var events = new List<StoredEvent>();
        using var rows = readEvents.ExecuteReader();
        while (rows.Read())
        {
            events.Add(new StoredEvent(rows.GetInt64(0), (HubEventKind)rows.GetInt32(1), (byte[])rows.GetValue(2)));
        }
        // Keep only the contiguous tail ending at lastSeq; anything else would put a frame at the wrong seq.
        int start = events.Count;
        long expected = lastSeq;
        while (start > 0 && events[start - 1].Seq == expected)
        {
            start--;
            expected--;
        }
        if (start > 0)
        {
            events.RemoveRange(0, start);
        }
        return events;
    }

    private static DateTimeOffset Time(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
