using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ProcessHub.Storage;

/// <summary>
/// A statement prepared once on the provider's own SQLite handle and run with direct binds: for the writer's two
/// statements per event (append one, delete the one past the history limit). Through a <see cref="SqliteCommand"/>
/// each run boxes its parameters, copies the payload into a new array and walks the command's statement list
/// again; here a payload is bound from the frame that holds it. It takes part in whatever transaction the connection
/// has open, like any statement on it.
/// </summary>
internal sealed class SqliteRawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteRawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(_db, sql, out _statement), _db);
    }

    /// <summary>Binds parameter <paramref name="index"/> (1-based, as SQLite counts).</summary>
    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    /// <summary>Binds a blob that SQLite copies before this returns (the span need not outlive the call).</summary>
    public void Bind(int index, ReadOnlySpan<byte> blob) => Check(raw.sqlite3_bind_blob(_statement, index, blob));

    /// <summary>Runs the statement to its end and makes it ready for the next binds; a failure throws the provider's <see cref="SqliteException"/>.</summary>
    public void Execute()
    {
        int result = raw.sqlite3_step(_statement);
        // Reset whatever happened, so that the statement holds no lock and can run again after a retry.
        raw.sqlite3_reset(_statement);
        if (result != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(result, _db);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int result) => SqliteException.ThrowExceptionForRC(result, _db);
}
