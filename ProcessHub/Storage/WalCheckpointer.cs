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
    private readonly Transport.FailureStreak _failures = new(SayFailingEvery); // the checkpointer's thread only

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
                if (_failures.Fail(ex.Message))
                {
                    _logger.LogWarning("checkpoint failed ({Failures} in a row): {Message} (tried again every {Interval:0.##} s; said again every {Every:0} s at most while it fails)",
                        _failures.FailedInARow, ex.Message, _interval.TotalSeconds, SayFailingEvery.TotalSeconds);
                }
                continue;
            }
            if (_failures.Succeed(out long failedInARow))
            {
                _logger.LogInformation("checkpoints work again after {Failures} failed in a row", failedInARow);
            }
            _statistics.CountCheckpoint(Stopwatch.GetElapsedTime(started), result.LogFrames);
            if (result.LogFrames >= _logRestartFrames)
            {
                _requestLogRestart();
            }
        }
    }
}
