using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using ProcessHub.Auth;
using ProcessHub.Hub;
using ProcessHub.Redis;
using ProcessHub.Server;
using ProcessHub.Tests.Cli;
using ProcessHub.Tests.Hub;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// Hubs sharing one Redis: real binaries (<see cref="StartBinaryAsync"/>), or a hub in this process when a test must
/// watch a producer's token (<see cref="StartInProcess"/>). All sign and check tokens with one secret.
/// </summary>
internal static partial class HubCluster
{
    public const string Secret = "scale-out-tests: a shared secret of well over 32 bytes";

    public static string Token(string subject, params string[] roles) =>
        TestTokens.Create(TestTokens.Hs256(Secret), subject: subject, expires: DateTime.UtcNow.AddHours(1), roles: roles);

    public static async Task<(HubProcess Hub, IPEndPoint EndPoint)> StartBinaryAsync(RedisServer redis, params string[] extra)
    {
        var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", Secret, "--redis", redis.Configuration, "--ping-interval", "0", .. extra],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });
        string line = await hub.WaitForLineAsync(l => l.StartsWith("ProcessHub listening on", StringComparison.Ordinal), "the listening line");
        int port = int.Parse(Listening().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
        return (hub, new IPEndPoint(IPAddress.Loopback, port));
    }

    public static HubApplication StartInProcess(RedisServer redis)
    {
        var hubOptions = new HubOptions();
        var app = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            hubOptions,
            new JwtSettings { Secret = Secret, ClockSkew = TimeSpan.Zero },
            NullLoggerFactory.Instance,
            engine: registry => new RedisProcessEngine(registry, new RedisEngineOptions { Configuration = redis.Configuration }, hubOptions, TimeProvider.System, NullLogger.Instance));
        app.Start();
        return app;
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();
}
