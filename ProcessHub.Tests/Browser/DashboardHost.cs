using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Browser;

/// <summary>
/// A hub in dev-token mode for the page: the dashboard fetches /api/dev-token (user "dev") as it does under
/// <c>./run.sh</c>. It can be stopped and started again on the same port, as a restarted server would be.
/// </summary>
internal sealed class DashboardHost : IAsyncDisposable
{
    public const string Secret = "dashboard-tests-secret-0123456789-abcdefghij";
    private readonly HubOptions _hubOptions;
    private readonly string? _dataDirectory;
    private int _port;
    private string _secret = Secret;

    /// <param name="dataDirectory">Keep processes in the durable store there (a restart then keeps them); memory when null.</param>
    public DashboardHost(HubOptions? hubOptions = null, string? dataDirectory = null)
    {
        _hubOptions = hubOptions ?? new HubOptions();
        _dataDirectory = dataDirectory;
    }

    public HubApplication App { get; private set; } = null!;
    public string BaseUrl => $"http://127.0.0.1:{_port}/";

    public void Start()
    {
        App = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = _port, PingInterval = TimeSpan.Zero, DrainTimeout = TimeSpan.FromSeconds(2) },
            _hubOptions,
            new JwtSettings { Secret = _secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance,
            time: Time,
            store: _dataDirectory is null
                ? null
                : new ProcessHub.Storage.SqliteProcessStore(new ProcessHub.Storage.SqliteStoreOptions { DataDirectory = _dataDirectory }, _hubOptions.HistoryLimit, NullLogger.Instance));
        if (DevMode) App.EnableDevToken(DevToken ?? Token("dev"), DevTokenFreshFor);
        App.Start();
        _port = App.LocalEndPoint.Port;
    }

    /// <summary>The hub's clock (process timestamps, stale and retention timers); the system's when null.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Whether the hub hands out dev tokens at <c>/api/dev-token</c>, as <c>./run.sh</c> does; without, a
    /// token has to be pasted.</summary>
    public bool DevMode { get; init; } = true;

    /// <summary>What <c>/api/dev-token</c> hands the plain dev user; the hub's own token when null.</summary>
    public string? DevToken { get; init; }

    /// <summary>How long <see cref="DevToken"/> must have left to be handed out; the hub's default when null.</summary>
    public TimeSpan? DevTokenFreshFor { get; init; }

    /// <param name="secret">Sign with another secret from now on, as a dev-mode hub does after each restart (its
    /// secret is random per run), so tokens of the run before are refused with 4401.</param>
    public async Task RestartAsync(string? secret = null)
    {
        await StopAsync();
        _secret = secret ?? _secret;
        Start();
    }

    public async Task StopAsync() => await App.DisposeAsync();

    public string Token(string subject, params string[] roles) => App.Tokens.Issue(subject, roles, TimeSpan.FromHours(1));

    public ValueTask DisposeAsync() => App.DisposeAsync();

    public IPEndPoint EndPoint => App.LocalEndPoint;
}
