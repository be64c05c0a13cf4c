using Microsoft.Extensions.Logging;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Server;

namespace ProcessHub.Tests.Api;

/// <summary>
/// A hub in the test's process (the memory store, the test secret, no pings) whose every log line at
/// <c>minimum</c> and above a test can read: for what the hub says, and for what it must never say (a token).
/// </summary>
internal sealed class LoggedHub : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;

    private LoggedHub(LogLevel minimum)
    {
        _loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(Logs).SetMinimumLevel(minimum));
        App = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            new HubOptions(),
            new JwtSettings { Secret = HubTestHost.Secret, ClockSkew = TimeSpan.Zero },
            _loggerFactory);
    }

    public CapturingLoggerProvider Logs { get; } = new();

    public HubApplication App { get; }

    public static LoggedHub Start(LogLevel minimum)
    {
        var hub = new LoggedHub(minimum);
        hub.App.Start();
        return hub;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        _loggerFactory.Dispose();
    }
}
