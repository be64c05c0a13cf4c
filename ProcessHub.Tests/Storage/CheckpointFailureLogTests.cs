using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using ProcessHub.Storage;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// A checkpoint that fails (a full disk, an I/O error) is tried again every interval, counted in
/// <c>processhub_store_checkpoint_failures_total</c>, and logged once for the streak and then every 10 s at most: a
/// line a second filled the log of a hub whose disk was full (found by an audit), often on that very disk.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class CheckpointFailureLogTests
{
    [Test]
    public async Task Checkpoints_that_fail_in_a_row_are_counted_each_but_said_once()
    {
        using var data = new DataDirectory();
        // The store's own connection stays open, as the hub's writer does: the log and its index stay there.
        using var writer = new SqliteConnection($"Data Source={data.Database};Pooling=False");
        writer.Open();
        using (var wal = writer.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);";
            wal.ExecuteNonQuery();
        }
        // A connection that may not write fails every checkpoint ("disk I/O error"), as a full disk makes them fail:
        // a real failure of SQLite's, which a test can make without filling a disk.
        using var readOnly = new SqliteConnection($"Data Source={data.Database};Pooling=False;Mode=ReadOnly");
        readOnly.Open();
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var statistics = new StoreStatistics();
        var failing = Stopwatch.StartNew();
        var checkpointer = new WalCheckpointer(readOnly, TimeSpan.FromMilliseconds(10), logRestartFrames: long.MaxValue, () => { }, statistics, loggerFactory.CreateLogger("ProcessHub.Store"));
        try
        {
            await Eventually.HoldsAsync(() => statistics.CheckpointFailures >= 30, $"30 checkpoints failed ({statistics.Checkpoints} worked; {string.Join(" | ", logs.Lines)})");
        }
        finally
        {
            await checkpointer.DisposeAsync();
        }

        var said = logs.Lines.Where(l => l.Contains("checkpoint", StringComparison.Ordinal)).ToList();
        // The streak's first line, and one more for each 10 s it lasted at most (it was a line a failure).
        Assert.That(said, Has.Count.InRange(1, 1 + (int)(failing.Elapsed.TotalSeconds / 10)), string.Join("\n", said));
        Assert.That(said[0], Does.StartWith("Warning ProcessHub.Store: checkpoint failed (1 in a row): SQLite Error"));
        Assert.That(said[0], Does.Contain("(tried again every 0.01 s; said again every 10 s at most while it fails)"));
        Assert.That(statistics.Checkpoints, Is.Zero, "none worked");
    }
}
