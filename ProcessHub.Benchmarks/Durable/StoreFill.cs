using Microsoft.Data.Sqlite;
using ProcessHub.Benchmarks.Load;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using ProcessHub.Storage;

namespace ProcessHub.Benchmarks.Durable;

/// <summary>
/// Fills a sqlite store the way a busy hub would: <c>processes</c> processes driven over the HTTP API (so they stay
/// running across a restart), each with <c>events</c> events (process_started, then progress reports shaped like the
/// benchmark runner's), written through the real engine and store by concurrent producers; then a clean shutdown.
/// Measures the fill rate and the bytes on disk per retained event.
/// </summary>
internal static class StoreFill
{
    public static async Task<Dictionary<string, double>> FillAsync(string dataDirectory, int processes, int events, int producers, HubOptions options)
    {
        long start = MonotonicClock.Now;
        var hub = InProcessHub.Open("sqlite", dataDirectory, options);
        long written;
        try
        {
            int next = -1;
            var workers = new Task[Math.Min(producers, processes)];
            for (int w = 0; w < workers.Length; w++)
            {
                workers[w] = Task.Run(async () =>
                {
                    while (Interlocked.Increment(ref next) is var i && i < processes)
                    {
                        var started = await hub.Engine.StartAsync(new ProcessStart("eval", $"user{i % 10}", ProgressJson.Serialize(new { suite = "mmlu", shard = i }),
                            ProgressJson.Create(0, events - 1, null, null), InProcess: false)).ConfigureAwait(false);
                        for (int k = 1; k < events; k++)
                        {
                            await hub.Engine.ApplyAsync(started.ProcessId, ProcessChange.Progress(ProgressJson.Create(k, events - 1, "GPT-4o", "Run 2/3, Context 5K"))).ConfigureAwait(false);
                        }
                    }
                });
            }
            await Task.WhenAll(workers).ConfigureAwait(false);
            written = hub.Statistics!.EventsWritten;
        }
        finally
        {
            // A clean stop: the log is folded into the database and truncated, as after SIGTERM.
            await hub.DisposeAsync().ConfigureAwait(false);
        }
        double seconds = MonotonicClock.ToSeconds(MonotonicClock.Now - start);
        var values = new Dictionary<string, double>
        {
            ["processes"] = processes,
            ["events_written"] = written,
            ["fill_s"] = seconds,
            ["fill_events_per_s"] = written / seconds,
        };
        Measure(dataDirectory, values);
        return values;
    }

    /// <summary>The file's size and what it holds: bytes per retained event, the average payload, and (where SQLite has dbstat) the events table's own pages.</summary>
    public static void Measure(string dataDirectory, Dictionary<string, double> values)
    {
        string path = Path.Combine(dataDirectory, SqliteProcessStore.FileName);
        long fileBytes = new FileInfo(path).Length;
        long walBytes = File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0;
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        double retained = Scalar(connection, "SELECT COUNT(*) FROM events") ?? 0;
        values["retained_events"] = retained;
        values["file_bytes"] = fileBytes;
        values["wal_bytes"] = walBytes;
        values["bytes_per_event"] = retained > 0 ? (fileBytes + walBytes) / retained : 0;
        values["payload_bytes_avg"] = Scalar(connection, "SELECT AVG(LENGTH(payload)) FROM events") ?? 0;
        values["page_size"] = Scalar(connection, "PRAGMA page_size") ?? 0;
        values["free_pages"] = Scalar(connection, "PRAGMA freelist_count") ?? 0;
        try
        {
            values["events_table_bytes_per_event"] = retained > 0 ? (Scalar(connection, "SELECT SUM(pgsize) FROM dbstat WHERE name = 'events'") ?? 0) / retained : 0;
        }
        catch (SqliteException)
        {
            // This SQLite was built without the dbstat table; the file size is the figure.
        }
    }

    private static double? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() is { } value and not DBNull ? Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }
}
