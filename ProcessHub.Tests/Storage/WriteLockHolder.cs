using Microsoft.Data.Sqlite;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// Another connection holding a store's write lock (<c>BEGIN IMMEDIATE</c>): the hub's writer waits until it is
/// rolled back or committed, so a test can have events accepted and not yet stored, and decide what the commit meets.
/// </summary>
internal sealed class WriteLockHolder : IAsyncDisposable
{
    private readonly SqliteConnection _connection;

    private WriteLockHolder(SqliteConnection connection) => _connection = connection;

    public static async Task<WriteLockHolder> TakeAsync(DataDirectory data)
    {
        var connection = new SqliteConnection($"Data Source={data.Database};Pooling=False");
        await connection.OpenAsync();
        var holder = new WriteLockHolder(connection);
        await holder.ExecuteAsync("BEGIN IMMEDIATE");
        return holder;
    }

    /// <summary>Runs <paramref name="sql"/> inside the held transaction.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var command = _connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public Task RollbackAsync() => ExecuteAsync("ROLLBACK");

    public Task CommitAsync() => ExecuteAsync("COMMIT");

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
