using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;
using ProcessHub.Storage;

namespace ProcessHub.Tests.Storage;

/// <summary>
/// A real hub on port 0 over the real SQLite store in a temporary data directory that outlives it: stop one, start
/// another on the same directory, and it is a restart. The directory is deleted when the test's <see cref="DataDirectory"/>
/// is disposed.
/// </summary>
internal sealed class DurableHub : IAsyncDisposable
{
    public const string Secret = "durable-hub-tests: a shared secret of well over 32 bytes";

    private DurableHub(HubApplication app, SqliteProcessStore store)
    {
        App = app;
        Store = store;
    }

    public HubApplication App { get; }
    public SqliteProcessStore Store { get; }
    public IPEndPoint EndPoint => App.LocalEndPoint;
    public string Epoch => App.Registry.Epoch;

    /// <param name="port">0 for one the kernel picks; the previous hub's port to restart where workers and tabs expect it.</param>
    /// <param name="lockTimeout">How long the store's writer waits for a lock another connection holds (the default when null).</param>
    /// <param name="configure">Changes the store's options further (the data directory and the above are set first).</param>
    /// <param name="allowedHosts">The Host names served (<see cref="ServerOptions.AllowedHosts"/>; none: every Host).</param>
    /// <param name="secret">The JWT secret (<see cref="Secret"/> when null); a dev-mode hub makes a new one each run.</param>
    /// <param name="loggers">Where the hub's log lines go (nowhere when null).</param>
    /// <param name="connectionTime">The connections' clock (request deadlines, log throttles); the system's when null.</param>
    /// <param name="devMode">Hand out tokens for user <c>dev</c> at <c>/api/dev-token</c>, as a hub without a configured secret does.</param>
    public static DurableHub Start(DataDirectory data, HubOptions? hub = null, TimeProvider? time = null, long maxPageCount = 0, int port = 0, TimeSpan? lockTimeout = null, Func<SqliteStoreOptions, SqliteStoreOptions>? configure = null, IReadOnlyList<string>? allowedHosts = null, string? secret = null, bool devMode = false, ILoggerFactory? loggers = null, TimeProvider? connectionTime = null)
    {
        var options = new SqliteStoreOptions { DataDirectory = data.Path, MaxPageCount = maxPageCount };
        if (lockTimeout is { } wait)
        {
            options = options with { LockTimeout = wait };
        }
        if (configure is not null)
        {
            options = configure(options);
        }
        var store = new SqliteProcessStore(options, (hub ?? new HubOptions()).HistoryLimit, NullLogger.Instance);
        var app = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = port, PingInterval = TimeSpan.Zero, AllowedHosts = allowedHosts ?? [] },
            hub ?? new HubOptions(),
            new JwtSettings { Secret = secret ?? Secret, ClockSkew = TimeSpan.Zero },
            loggers ?? NullLoggerFactory.Instance,
            time,
            store,
            connectionTime);
        if (devMode)
        {
            app.EnableDevToken(app.Tokens.Issue("dev", [], TimeSpan.FromHours(24)), null);
        }
        app.Start();
        return new DurableHub(app, store);
    }

    public string Token(string subject, params string[] roles) => App.Tokens.Issue(subject, roles, TimeSpan.FromMinutes(30));

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}
