using Microsoft.Data.Sqlite;

namespace ProcessHub.Storage;

/// <summary>Turns what goes wrong while opening the store into a message an operator can act on.</summary>
internal static class SqliteOpenErrors
{
    // SQLite's primary result codes (https://www.sqlite.org/rescode.html).
    private const int Busy = 5;
    private const int Locked = 6;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int NotADatabase = 26;

    /// <summary>A database SQLite cannot write: refused when opening fails, and when it opens read-only without a word.</summary>
    public static StoreOpenException CannotWrite(string path, Exception? error = null) =>
        new($"cannot write the database {path} (read-only file or directory, or no permission); make it writable, or use another --data-dir", error);

    public static StoreOpenException Describe(SqliteException error, string path) => error.SqliteErrorCode switch
    {
        Busy or Locked => new StoreOpenException($"the database {path} is locked by another process; stop it, or use another --data-dir", error),
        ReadOnly or CantOpen => CannotWrite(path, error),
        Corrupt or NotADatabase => new StoreOpenException($"the database {path} is corrupt or not a ProcessHub database ({error.Message}); move it away to start with an empty store, or restore a backup", error),
        Full => new StoreOpenException($"the disk holding {path} is full", error),
        IoError => new StoreOpenException($"cannot read or write the database {path} (I/O error: {error.Message})", error),
        _ => new StoreOpenException($"cannot open the database {path}: {error.Message}", error),
    };
}
