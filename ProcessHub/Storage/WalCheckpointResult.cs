using Microsoft.Data.Sqlite;

namespace ProcessHub.Storage;

/// <summary>
/// What <c>PRAGMA wal_checkpoint</c> reports: whether it was kept from running (another checkpoint, or a lock), the
/// frames in the write-ahead log when it ran, and how many of them are now folded into the database (all of them, but for
/// frames a reader still needs: the frames the writer adds meanwhile are not counted, so "all" does not mean the log can
/// start over).
/// </summary>
internal readonly record struct WalCheckpointResult(bool Busy, long LogFrames, long FoldedFrames)
{
    /// <summary>Runs a prepared <c>PRAGMA wal_checkpoint(...)</c> command and reads its one row.</summary>
    public static WalCheckpointResult Run(SqliteCommand checkpoint)
    {
        using var reader = checkpoint.ExecuteReader();
        if (!reader.Read())
        {
            return new WalCheckpointResult(true, 0, 0);
        }
        // SQLite reports -1 for both counts when the database is not in WAL mode or the checkpoint could not start.
        return new WalCheckpointResult(reader.GetInt64(0) != 0, Math.Max(0, reader.GetInt64(1)), Math.Max(0, reader.GetInt64(2)));
    }
}
