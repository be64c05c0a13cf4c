using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ProcessHub.Storage;

/// <summary>
/// Folds the write-ahead log back into the database on a connection of its own, every interval. A passive checkpoint
/// never waits for the writer and the writer never waits for it (the writer's own connection has automatic
/// checkpoints off), so the 20-70 ms a checkpoint can take on a busy disk stays out of the delivery path.
/// </summary>
/// <remarks>
/// A passive checkpoint alone does not bound the log: SQLite writes the log from its start again only when a write
/// begins with every frame folded in, and a writer that commits while each checkpoint runs (any steady load above a
/// commit per checkpoint's length: 1,000 events a second grew it by 9.5 MB a second, without end) never sees that.
/// So when a pass finds the log longer than <see cref="SqliteStoreOptions.LogRestartFrames"/>, the writer is asked (<c>requestLogRestart</c>) to fold in the rest itself between two commits: only
/// the frames written during this pass, after which its next commit starts the log over.
/// </remarks>
/// <remarks>
/// It runs on a thread of its own, not on the thread pool: a checkpoint blocks in SQLite for as long as its writes and
/// two fsyncs take (20-250 ms measured on a shared VM, docs/benchmarks.md "Durable store"), and a pool thread blocked
/// that long is one less for the flushers, the HTTP handlers and the producers' continuations, which on a hub with one
/// or two cores is most of the pool.
/// </remarks>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    private readonly SqliteConnection _connection;
    private readonly StoreStatistics _statistics;
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly long _logRestartFrames;
    private readonly Action _requestLogRestart;
    private readonly ManualResetEventSlim _stopping = new();
    private readonly Thread _thread;
    private string? _failureSaid; // the reason of the failing streak's last line (the checkpointer's thread only)
    private long _failureSaidAt;

    private static readonly TimeSpan SayFailingEvery = TimeSpan.FromSeconds(10);

    public WalCheckpointer(SqliteConnection connection, TimeSpan interval, long logRestartFrames, Action requestLogRestart, StoreStatistics statistics, ILogger logger)
    {
        _connection = connection;
        _statistics = statistics;
        _logger = logger;
        _interval = interval;
        _logRestartFrames = logRestartFrames;
        _requestLogRestart = requestLogRestart;
        _thread = new Thread(Run) { IsBackground = true, Name = "processhub-store-checkpointer" };
        _thread.Start();
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Set();
        // A checkpoint under way finishes first (at most as long as one checkpoint takes).
        await Task.Run(_thread.Join).ConfigureAwait(false);
        _connection.Dispose();
        _stopping.Dispose();
    }

    private void Run()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        // Fixed-rate like a periodic timer: the next checkpoint is due one interval after the last was due.
        long failedInARow = 0;
        long due = Stopwatch.GetTimestamp();
        long period = (long)(_interval.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            due += period;
            long wait = due - Stopwatch.GetTimestamp();
            if (wait < 0)
            {
                // Longer than an interval (a slow disk): start the next one now, and count intervals from here.
                due = Stopwatch.GetTimestamp();
                wait = 0;
            }
            if (_stopping.Wait(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency)))
            {
                return;
            }
            long started = Stopwatch.GetTimestamp();
            WalCheckpointResult result;
            try
            {
                result = WalCheckpointResult.Run(command);
            }
            catch (Exception ex)
            {
                // A checkpoint that failed is retried at the next interval; the log keeps what it did not fold in.
                _statistics.CountCheckpointFailure();
                failedInARow++;
                SayFailure(ex.Message, failedInARow);
                continue;
            }
            if (failedInARow > 0)
            {
                _logger.LogInformation("checkpoints work again after {Failures} failed in a row", failedInARow);
                failedInARow = 0;
                _failureSaid = null;
            }
            _statistics.CountCheckpoint(Stopwatch.GetElapsedTime(started), result.LogFrames);
            if (result.LogFrames >= _logRestartFrames)
            {
                _requestLogRestart();
            }
        }
    }

    /// <summary>
    /// A failing streak's first failure, a new reason, and then a line every <see cref="SayFailingEvery"/> at most: a
    /// full disk fails every checkpoint, once a second for as long as it lasts, and a line each filled the log (often
    /// on the disk that was full) as the refused requests' lines did before they were held to one every 10 s.
    /// </summary>
    private void SayFailure(string reason, long failedInARow)
    {
        long now = Stopwatch.GetTimestamp();
        if (reason != _failureSaid)
        {
            _logger.LogWarning("checkpoint failed: {Message} (tried again every {Interval:0.##} s; said again every {Every:0} s at most while it fails)", reason, _interval.TotalSeconds, SayFailingEvery.TotalSeconds);
        }
        else if (Stopwatch.GetElapsedTime(_failureSaidAt, now) >= SayFailingEvery)
        {
            _logger.LogWarning("checkpoints still fail ({Failures} in a row): {Message}", failedInARow, reason);
        }
        else
        {
            return;
        }
        _failureSaid = reason;
        _failureSaidAt = now;
    }
}
