using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ProcessHub.Storage;

/// <summary>
/// A statement prepared on the provider's own SQLite handle, bound and read directly: for the writer's two statements
/// per event (append one, delete the one past the history limit) and for reading the events back at a restart.
/// Through a <see cref="SqliteCommand"/> each run boxes its parameters and copies every payload into a new array,
/// and a data reader copies every blob it returns; here a payload is bound from the frame that holds it, and read
/// where SQLite holds it. It takes part in whatever transaction the connection has open, like any statement on it.
/// Parameters count from 1 and columns from 0, as SQLite counts them.
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

    /// <summary>Steps to the next row: false once there is none; a failure throws the provider's <see cref="SqliteException"/>.</summary>
    public bool Read()
    {
        int result = raw.sqlite3_step(_statement);
        if (result == raw.SQLITE_ROW)
        {
            return true;
        }
        raw.sqlite3_reset(_statement);
        if (result != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(result, _db);
        }
        return false;
    }

    public long Int64(int column) => raw.sqlite3_column_int64(_statement, column);

    public int Int32(int column) => raw.sqlite3_column_int(_statement, column);

    /// <summary>The blob of the current row where SQLite holds it: valid until the next <see cref="Read"/>.</summary>
    public ReadOnlySpan<byte> Blob(int column) => raw.sqlite3_column_blob(_statement, column);

    public void Dispose() => _statement.Dispose();

    private void Check(int result) => SqliteException.ThrowExceptionForRC(result, _db);
}
