using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ProcessHub.Storage;

/// <summary>
/// Folds the write-ahead log back into the database on a connection of its own, every interval. A passive checkpoint
/// never waits for the writer and the writer never waits for it (the writer's own connection has automatic
/// checkpoints off), so the 20-70 ms a checkpoint can take on a busy disk stays out of the delivery path.
/// </summary>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    private readonly SqliteConnection _connection;
    private readonly StoreStatistics _statistics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public WalCheckpointer(SqliteConnection connection, TimeSpan interval, StoreStatistics statistics, ILogger logger)
    {
        _connection = connection;
        _statistics = statistics;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(interval));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _connection.Dispose();
        _stopping.Dispose();
    }

    private async Task RunAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        using var command = _connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                long started = Stopwatch.GetTimestamp();
                try
                {
                    command.ExecuteNonQuery();
                }
                catch (SqliteException ex)
                {
                    _logger.LogWarning("checkpoint failed: {Message}", ex.Message);
                    continue;
                }
                _statistics.CountCheckpoint(Stopwatch.GetElapsedTime(started));
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
