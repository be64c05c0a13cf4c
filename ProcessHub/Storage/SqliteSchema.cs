using Microsoft.Data.Sqlite;

namespace ProcessHub.Storage;

/// <summary>
/// The database's tables, laid out for the write path: events are appended in commit order (their rowid), so a commit
/// of many processes' events writes a few consecutive pages instead of one page per process, and a process's row is
/// written when it starts and when it ends, not at every report (its latest progress is its last event). Times are
/// UTC ticks; status and kind are the enums' numbers; events name their process by its small integer key.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>
    /// The oldest layout a hub must know to open the file: a hub refuses a file of a higher version. Columns that an
    /// older hub can leave alone (nullable, read and written only by name) are added without raising it, so that going
    /// back to the older binary keeps working: a process's <c>Idempotency-Key</c> (its caller, the key, the request's
    /// digest) is three such columns, which a file written before them gets on opening (<see cref="AddMissingColumns"/>).
    /// </summary>
    public const int Version = 1;

    private const string Create = """
        CREATE TABLE IF NOT EXISTS meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS processes (
            key             INTEGER PRIMARY KEY,
            id              TEXT NOT NULL UNIQUE,
            type            TEXT NOT NULL,
            owner           TEXT NOT NULL,
            params          BLOB,
            started_at      INTEGER NOT NULL,
            in_process      INTEGER NOT NULL,
            status          INTEGER NOT NULL,
            seq             INTEGER NOT NULL,
            progress        BLOB NOT NULL,
            last_changed_at INTEGER NOT NULL,
            ended_at        INTEGER,
            result          BLOB,
            error           BLOB,
            cancelled_by    TEXT,
            idempotency_caller  TEXT,
            idempotency_key     TEXT,
            idempotency_request TEXT
        );
        CREATE TABLE IF NOT EXISTS events (
            id      INTEGER PRIMARY KEY,
            process INTEGER NOT NULL,
            seq     INTEGER NOT NULL,
            kind    INTEGER NOT NULL,
            payload BLOB NOT NULL
        );
        """;

    /// <summary>
    /// Marks the file as ProcessHub's in its header (<c>PRAGMA application_id</c>, "PHub"): what tells a store from a
    /// SQLite file of another program that happens to sit at the same path. Files made before it carry 0 and are known
    /// by their tables instead (<see cref="IsOurs"/>), then marked.
    /// </summary>
    public const int ApplicationId = 0x50487562;

    /// <summary>
    /// Refuses another program's database, reading only: run before the hub's connection turns on write-ahead logging,
    /// which is written into the file's header for good (found by an audit: a refused file of another program had been
    /// switched from its rollback journal to WAL).
    /// </summary>
    public static void RefuseIfNotOurs(SqliteConnection connection, string path)
    {
        using var transaction = connection.BeginTransaction(deferred: true);
        if (!IsOurs(connection, transaction, out _, out string? foreign))
        {
            throw NotOurs(path, foreign);
        }
    }

    /// <summary>
    /// Creates the tables if missing, or brings an older file up to this version in the same transaction; refuses a
    /// database written by a newer version, and one of another program before anything is written to it.
    /// </summary>
    public static void Apply(SqliteConnection connection, string path)
    {
        using var transaction = connection.BeginTransaction();
        if (!IsOurs(connection, transaction, out bool marked, out string? foreign))
        {
            // Taken for an empty store, another program's file got our tables and rows beside its own (or, when a
            // table's name matched, columns added and then a raw "no such column").
            throw NotOurs(path, foreign);
        }
        Execute(connection, transaction, Create);
        if (!marked)
        {
            Execute(connection, transaction, $"PRAGMA application_id = {ApplicationId}");
        }
        string? stored = Scalar(connection, transaction, "SELECT value FROM meta WHERE key = 'schema'");
        if (stored is null)
        {
            Execute(connection, transaction, $"INSERT INTO meta (key, value) VALUES ('schema', '{Version}')");
        }
        else if (!int.TryParse(stored, out int version) || version > Version)
        {
            throw new StoreOpenException($"{path} was written by a newer ProcessHub (schema {stored}, this one knows {Version}): upgrade, or use another --data-dir");
        }
        AddMissingColumns(connection, transaction);
        transaction.Commit();
    }

    private static StoreOpenException NotOurs(string path, string? foreign) =>
        new($"the database {path} is not a ProcessHub database ({foreign}); move it away to start with an empty store, or use another --data-dir");

    /// <summary>
    /// Whether the file is new (no tables), marked as ProcessHub's, or an unmarked one of ours: exactly our three
    /// tables, with a schema row in <c>meta</c>. <paramref name="foreign"/> says what gave another program's file away.
    /// </summary>
    private static bool IsOurs(SqliteConnection connection, SqliteTransaction transaction, out bool marked, out string? foreign)
    {
        foreign = null;
        long id;
        using (var pragma = connection.CreateCommand())
        {
            pragma.Transaction = transaction;
            pragma.CommandText = "PRAGMA application_id";
            id = Convert.ToInt64(pragma.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        marked = id == ApplicationId;
        if (marked)
        {
            return true;
        }
        if (id != 0)
        {
            foreign = $"its header names another application, id {id}";
            return false;
        }
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.Transaction = transaction;
            list.CommandText = "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }
        if (tables.Count == 0)
        {
            return true;
        }
        string[] ours = ["events", "meta", "processes"];
        if (!tables.SequenceEqual(ours, StringComparer.OrdinalIgnoreCase))
        {
            var others = tables.Where(t => !ours.Contains(t, StringComparer.OrdinalIgnoreCase)).ToList();
            foreign = others.Count > 0
                ? $"it holds tables ProcessHub does not make: {string.Join(", ", others.Take(5))}{(others.Count > 5 ? ", ..." : "")}"
                : $"it holds only some of ProcessHub's tables: {string.Join(", ", tables)}";
            return false;
        }
        try
        {
            if (Scalar(connection, transaction, "SELECT value FROM meta WHERE key = 'schema'") is not null)
            {
                return true;
            }
        }
        catch (SqliteException)
        {
            // A meta table of another shape: not ours.
        }
        foreign = "its meta table has no ProcessHub schema";
        return false;
    }

    /// <summary>
    /// Adds the columns a file written before them lacks, in the opening's transaction (a file has all or none). Adding
    /// a nullable column rewrites no row (SQLite keeps the default in the schema), so even a large file opens at once;
    /// the processes it already holds have no key.
    /// </summary>
    private static void AddMissingColumns(SqliteConnection connection, SqliteTransaction transaction)
    {
        var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using (var columns = connection.CreateCommand())
        {
            columns.Transaction = transaction;
            columns.CommandText = "SELECT name FROM pragma_table_info('processes')";
            using var reader = columns.ExecuteReader();
            while (reader.Read())
            {
                present.Add(reader.GetString(0));
            }
        }
        foreach (string column in (string[])["idempotency_caller", "idempotency_key", "idempotency_request"])
        {
            if (!present.Contains(column))
            {
                Execute(connection, transaction, $"ALTER TABLE processes ADD COLUMN {column} TEXT");
            }
        }
    }

    /// <summary>
    /// The store's epoch, created with the store: a new store is a new epoch, a reopened one keeps its own unless
    /// <paramref name="replace"/> asks for a new one (a store restored from a backup).
    /// </summary>
    public static string Epoch(SqliteConnection connection, Func<string> newEpoch, bool replace = false)
    {
        using var transaction = connection.BeginTransaction();
        string? epoch = Scalar(connection, transaction, "SELECT value FROM meta WHERE key = 'epoch'");
        if (epoch is null || replace)
        {
            epoch = newEpoch();
            using var upsert = connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = "INSERT INTO meta (key, value) VALUES ('epoch', $epoch) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
            upsert.Parameters.AddWithValue("$epoch", epoch);
            upsert.ExecuteNonQuery();
        }
        transaction.Commit();
        return epoch;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string? Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteScalar() as string;
    }
}
