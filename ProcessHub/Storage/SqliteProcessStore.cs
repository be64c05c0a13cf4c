using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using ProcessHub.Hub;
using ProcessHub.Hub.Processes;
using SQLitePCL;

namespace ProcessHub.Storage;

/// <summary>
/// The embedded durable store (<c>--store sqlite</c>, the default; docs/protocol.md section 10): SQLite in WAL mode in
/// one file under the data directory. Events are appended to a queue; one writer thread takes whatever has queued up,
/// writes it in one transaction (group commit) and only then publishes each event, in order. A checkpointer folds the
/// log back into the database on its own connection, so its pauses never hold up a commit.
/// </summary>
internal sealed partial class SqliteProcessStore : IProcessStore
{
    public const string FileName = "processhub.db";
    private const string LockFileName = "processhub.lock";

    // A log frame: a 24-byte header and a page (SQLite's default page size, which the store keeps).
    private const long WalFrameBytes = 24 + 4096;

    private readonly SqliteStoreOptions _options;
    private readonly int _historyLimit;
    private readonly int _historySlack;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<StoreCommand> _queue = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly string _path;
    private Action<PendingEvent> _publish = static _ => throw new InvalidOperationException("the store is not open");
    private SqliteConnection? _connection;
    private FileStream? _lockFile;
    private Thread? _writer;
    private WalCheckpointer? _checkpointer;
    private volatile bool _stopping;
    private volatile Exception? _failure;
    private long _failedAt; // Stopwatch timestamp of the last failed write, while _failure is set
    private int _wake;
    private int _disposed;

    // Set once the writer has stopped for good: from then on an append is refused at once.
    private int _closed;
    private int _writerGone;

    public SqliteProcessStore(SqliteStoreOptions options, int historyLimit, ILogger logger)
    {
        _options = options;
        _historyLimit = historyLimit;
        _historySlack = HistorySlack(historyLimit);
        _logger = logger;
        DataDirectory = Path.GetFullPath(options.DataDirectory);
        _path = Path.Combine(DataDirectory, FileName);
    }

    /// <summary>How many rows past the history limit a process may keep in the file: a sixteenth of the limit, 64 at most.</summary>
    public static int HistorySlack(int historyLimit) => Math.Min(historyLimit / 16, 64);

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirectory { get; }

    /// <summary>The database file.</summary>
    public string DatabasePath => _path;

    public string Description => $"sqlite {_path} (synchronous={_options.Synchronous.ToString().ToUpperInvariant()})";

    public string Kind => "sqlite";

    public string? Location => _path;

    public bool PublishesInline => false;

    public StoreStatistics Statistics { get; } = new();

    /// <summary>
    /// How long the store refuses events after a write failed (a disk that failed or filled up) before the next events
    /// are written as a trial; the answer's Retry-After (docs/protocol.md section 10).
    /// </summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>Why the store refuses events, while it does (its last write failed); null while it writes.</summary>
    public Exception? Failure => _failure;

    public bool Writable => _failure is null;

    /// <exception cref="StoreOpenException">The directory or database is read-only, locked, corrupt or unreadable.</exception>
    public StoredProcesses Open(Action<PendingEvent> publish)
    {
        _publish = publish;
        try
        {
            // Owner only, as PostgreSQL keeps its data directory: the database holds every process's params, results and
            // errors as sent (a producer's params may carry anything), and files SQLite creates follow the umask.
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(DataDirectory);
            }
            else
            {
                Directory.CreateDirectory(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // .NET says "Could not find a part of the path" when a part is a file: name the file instead.
            string? blocking = FirstNonDirectoryOnThePath(DataDirectory);
            throw new StoreOpenException(
                blocking is not null ? $"cannot create the data directory {DataDirectory}: {blocking}; use another --data-dir"
                : ex is UnauthorizedAccessException || IsReadOnlyFileSystem(ex) ? $"cannot create the data directory {DataDirectory} (read-only or no permission); create it, or use another --data-dir"
                : $"cannot create the data directory {DataDirectory}: {ex.Message}", ex);
        }
        _lockFile = TakeDirectoryLock();
        try
        {
            CreateDatabaseFileForOwnerOnly();
            _connection = OpenConnection(writeAheadLog: false);
            if (raw.sqlite3_db_readonly(_connection.Handle, "main") == 1)
            {
                // SQLite opens a file it may not write (chmod 444, chattr +i) read-only without a word; the hub then
                // started, said "ok", and refused the first event with 503. Refused here, as a read-only directory is.
                throw SqliteOpenErrors.CannotWrite(_path);
            }
            // Another program's file is refused before anything is written to it, the journal mode included.
            SqliteSchema.RefuseIfNotOurs(_connection, _path);
            UseWriteAheadLog(_connection);
            SqliteSchema.Apply(_connection, _path);
            string epoch = SqliteSchema.Epoch(_connection, () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), replace: _options.NewEpoch);
            if (_options.NewEpoch)
            {
                _logger.LogWarning("new epoch {Epoch} over the kept processes (--new-epoch): every client takes the process list afresh", epoch);
            }
            var processes = Load(_connection);
            PrepareStatements(_connection);
            _checkpointer = new WalCheckpointer(OpenConnection(), _options.CheckpointInterval, _options.LogRestartFrames, RequestLogRestart, Statistics, _logger);
            _writer = new Thread(WriterLoop) { IsBackground = true, Name = "processhub-store-writer" };
            _writer.Start();
            return new StoredProcesses(epoch, processes);
        }
        catch (SqliteException ex)
        {
            Close();
            throw SqliteOpenErrors.Describe(ex, _path);
        }
        catch (InvalidDataException ex)
        {
            // A row in a form the writer never gives one (Load): edited by hand, or by another program.
            Close();
            throw new StoreOpenException($"the database {_path} holds a row ProcessHub cannot read ({ex.Message}); restore a backup, or move it away to start with an empty store", ex);
        }
        catch
        {
            Close();
            throw;
        }
    }

    public void Append(PendingEvent pending) => Enqueue(new StoreCommand(pending, null));

    public void Remove(IReadOnlyList<string> processIds) => Enqueue(new StoreCommand(null, processIds));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping = true;
        _signal.Release();
        if (_writer is { } writer)
        {
            // What was queued before shutdown is still written and acknowledged.
            await Task.Run(writer.Join).ConfigureAwait(false);
        }
        // The writer closed and refused what came after its last drain; a store whose writer never started does it here.
        Interlocked.Exchange(ref _closed, 1);
        Interlocked.Exchange(ref _writerGone, 1);
        RefuseQueuedAfterClose();
        if (_checkpointer is { } checkpointer)
        {
            await checkpointer.DisposeAsync().ConfigureAwait(false);
        }
        if (_connection is { } connection && _failure is null)
        {
            try
            {
                // A clean stop leaves one file: the log folded in and truncated.
                using var checkpoint = connection.CreateCommand();
                checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                checkpoint.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                _logger.LogWarning("final checkpoint of {Path} failed: {Message}", _path, ex.Message);
            }
        }
        Close();
    }

    private void Enqueue(StoreCommand command)
    {
        // A removal is never refused: nobody waits for it, and dropped it would leave the rows in the file for good
        // (the registry has let the processes go and never asks again). The writer keeps it until a commit succeeds.
        if (command.Event is { } pending && _failure is { } failure && !RetryDue())
        {
            pending.MarkFailed(Unavailable(failure));
            return;
        }
        if (command.Event is { } refused && Volatile.Read(ref _closed) != 0)
        {
            // The hub is stopping. Refused off this thread: the caller holds its process's lock, and a refusal runs
            // the producer's continuation, which may take another process's (two producers deadlocked that way).
            ThreadPool.UnsafeQueueUserWorkItem(static pending => pending.MarkFailed(Closed()), refused, preferLocal: false);
            return;
        }
        _queue.Enqueue(command);
        // A full fence (not just a release): the writer sets the flag before its last drain, this checks it after the
        // enqueue, so either the drain takes the command or the command is refused here.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _writerGone) != 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static store => store.RefuseQueuedAfterClose(), this, preferLocal: false);
            return;
        }
        // One wake-up per burst: the writer clears the flag before it drains, so an append after that signals again.
        if (Interlocked.Exchange(ref _wake, 1) == 0)
        {
            _signal.Release();
        }
    }

    private void RefuseQueuedAfterClose()
    {
        while (_queue.TryDequeue(out var command))
        {
            command.Event?.MarkFailed(Closed());
        }
    }

    private static StoreUnavailableException Closed() => new("the process store is closed (the hub is stopping); nothing was stored") { HubStopping = true };

    // While the store refuses events: whether RetryAfter has passed since the last failed write.
    private bool RetryDue() => Stopwatch.GetElapsedTime(Volatile.Read(ref _failedAt)) >= RetryAfter;

    // Two hubs on one directory would each believe they own the processes: the second is refused at start.
    private FileStream TakeDirectoryLock()
    {
        string lockPath = Path.Combine(DataDirectory, LockFileName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix, released when the process dies.
            return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException ex) when (File.Exists(lockPath))
        {
            // The directory may well be writable: it is the lock file that is not (another user's, or immutable).
            throw new StoreOpenException($"cannot open the lock file {lockPath} for writing (read-only or no permission: another user's?); let this user write it, or use another --data-dir", ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException || IsReadOnlyFileSystem(ex))
        {
            // Before the "another ProcessHub" case below: a lock file left on a file system mounted read-only since
            // (a container's read-only root) was taken for a second hub's, which sent people looking for one.
            throw new StoreOpenException($"cannot write in the data directory {DataDirectory} (read-only or no permission); make it writable, or use another --data-dir", ex);
        }
        catch (IOException ex) when (Directory.Exists(DataDirectory) && File.Exists(lockPath))
        {
            throw new StoreOpenException($"another ProcessHub is using the data directory {DataDirectory} ({ex.Message}); stop it, or use another --data-dir", ex);
        }
        catch (IOException ex)
        {
            throw new StoreOpenException($"cannot write in the data directory {DataDirectory}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// A file system mounted read-only (EROFS, 30 on Linux and macOS), which .NET reports as a plain IOException with the
    /// errno as its HResult, not as the UnauthorizedAccessException of a missing permission. Not covered by a test: it
    /// needs a read-only mount, which a test cannot make without root; checked by hand on a read-only tmpfs.
    /// </summary>
    private static bool IsReadOnlyFileSystem(Exception ex) => ex is IOException { HResult: 30 } && !OperatingSystem.IsWindows();

    /// <summary>The path itself or the first of its parents that is a file, if one is.</summary>
    /// <summary>What stands where a directory of the path must be, said for the user; null when nothing does.</summary>
    private static string? FirstNonDirectoryOnThePath(string directory)
    {
        for (string? part = Path.GetFullPath(directory); !string.IsNullOrEmpty(part); part = Path.GetDirectoryName(part))
        {
            var entry = new FileInfo(part);
            if (entry.LinkTarget is { } target && !Directory.Exists(part))
            {
                // A link to a volume that is not mounted (yet) is the usual case: "a file" sent people looking for one.
                return $"{part} is a symbolic link to {target}, which is not a directory that exists (a volume not mounted?)";
            }
            if (entry.Exists)
            {
                return $"{part} is a file, not a directory";
            }
        }
        return null;
    }

    /// <summary>
    /// A new database file is made owner-only before SQLite opens it, as the directory the hub makes is: in a directory
    /// that already existed (and keeps its mode) the files followed the umask, world-readable under the usual 022, with
    /// every process's params, results and errors in them. SQLite gives its log and shared-memory files the mode of
    /// the database file. An existing file keeps the mode its operator gave it.
    /// </summary>
    private void CreateDatabaseFileForOwnerOnly()
    {
        if (OperatingSystem.IsWindows() || File.Exists(_path))
        {
            return;
        }
        try
        {
            using var created = new FileStream(_path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(_path))
        {
            // Made meanwhile by someone else: SQLite opens what is there, as before.
        }
    }

    private SqliteConnection OpenConnection(bool writeAheadLog = true)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(_options.LockTimeout.TotalSeconds),
        }.ToString());
        connection.Open();
        Pragma(connection, $"PRAGMA busy_timeout = {(int)_options.LockTimeout.TotalMilliseconds}");
        if (writeAheadLog)
        {
            UseWriteAheadLog(connection);
        }
        return connection;
    }

    private void UseWriteAheadLog(SqliteConnection connection)
    {
        string mode = Pragma(connection, "PRAGMA journal_mode = WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new StoreOpenException($"cannot use write-ahead logging on {_path} (journal mode stays '{mode}'): is the file or directory read-only?");
        }
        Pragma(connection, $"PRAGMA synchronous = {(_options.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")}");
        // Checkpoints run on the checkpointer's connection, never inside a commit on the write path.
        Pragma(connection, "PRAGMA wal_autocheckpoint = 0");
        // When the log starts over, a file that a burst grew well past the restart bound is cut back to twice it; below
        // that it is written over in place, with no blocks to allocate.
        Pragma(connection, $"PRAGMA journal_size_limit = {_options.LogRestartFrames * 2 * WalFrameBytes}");
        if (_options.MaxPageCount > 0)
        {
            Pragma(connection, $"PRAGMA max_page_count = {_options.MaxPageCount}");
        }
    }

    private static string Pragma(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) ?? "";
    }

    private void Close()
    {
        DisposeStatements();
        _connection?.Dispose();
        _connection = null;
        _lockFile?.Dispose();
        _lockFile = null;
    }

    private static StoreUnavailableException Unavailable(Exception failure) =>
        new($"the process store cannot write ({failure.Message}); nothing was stored", failure);
}
