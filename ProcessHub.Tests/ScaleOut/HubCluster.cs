using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
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

    public static Task<(HubProcess Hub, IPEndPoint EndPoint)> StartBinaryAsync(RedisServer redis, params string[] extra) =>
        StartBinaryOnAsync(redis.Configuration, extra);

    /// <summary>A hub binary that signs in to Redis as <paramref name="user"/> (an ACL user the test created).</summary>
    public static Task<(HubProcess Hub, IPEndPoint EndPoint)> StartBinaryAsUserAsync(RedisServer redis, RedisHubUser user, params string[] extra) =>
        StartBinaryOnAsync(user.ConfigurationOn(redis), extra);

    /// <summary>A hub binary with a Redis configuration of the test's own (several endpoints, say).</summary>
    public static Task<(HubProcess Hub, IPEndPoint EndPoint)> StartBinaryWithConfigurationAsync(string configuration, params string[] extra) =>
        StartBinaryOnAsync(configuration, extra);

    private static async Task<(HubProcess Hub, IPEndPoint EndPoint)> StartBinaryOnAsync(string configuration, string[] extra)
    {
        var hub = HubProcess.Start(
            ["--port", "0", "--jwt-secret", Secret, "--redis", configuration, "--ping-interval", "0", .. extra],
            new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });
        string line = await hub.WaitForLineAsync(l => l.StartsWith("ProcessHub listening on", StringComparison.Ordinal), "the listening line");
        int port = int.Parse(Listening().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
        return (hub, new IPEndPoint(IPAddress.Loopback, port));
    }

    /// <param name="configuration">The hub's own Redis configuration (another user, say); <paramref name="redis"/>'s when null.</param>
    /// <param name="logLength">The shared log's length this hub's scripts keep (<see cref="RedisEngineOptions.LogLength"/>).</param>
    /// <param name="hubOptions">The hub's options (the defaults when null).</param>
    /// <param name="time">The hub's and its engine's clock (the system's when null).</param>
    /// <param name="cancelWait">How long the hub waits for another hub to carry out a cancel; the engine's default when null.</param>
    /// <param name="engineLogger">Where the engine's log lines go (nowhere when null).</param>
    public static HubApplication StartInProcess(RedisServer redis, string? configuration = null, int? logLength = null, HubOptions? hubOptions = null, TimeProvider? time = null, TimeSpan? cancelWait = null, ILogger? engineLogger = null, ILoggerFactory? loggerFactory = null)
    {
        time ??= TimeProvider.System;
        var engineOptions = new RedisEngineOptions { Configuration = configuration ?? redis.Configuration };
        if (logLength is { } length)
        {
            engineOptions = engineOptions with { LogLength = length };
        }
        if (cancelWait is { } wait)
        {
            engineOptions = engineOptions with { CancelWait = wait };
        }
        hubOptions ??= new HubOptions();
        var app = new HubApplication(
            new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero },
            hubOptions,
            new JwtSettings { Secret = Secret, ClockSkew = TimeSpan.Zero },
            loggerFactory ?? NullLoggerFactory.Instance,
            time,
            engine: registry => new RedisProcessEngine(registry, engineOptions, hubOptions, time, engineLogger ?? NullLogger.Instance));
        app.Start();
        return app;
    }

    /// <summary>Starts a process over HTTP on <paramref name="hub"/> (<c>POST /api/processes</c>, 201 asserted); its id.</summary>
    public static async Task<string> StartProcessAsync(IPEndPoint hub, string token) =>
        await TryStartProcessAsync(hub, token) ?? throw new AssertionException("the hub refused to start a process");

    /// <summary>The id of a process started over HTTP on <paramref name="hub"/>, or null when the hub refused.</summary>
    public static async Task<string?> TryStartProcessAsync(IPEndPoint hub, string token)
    {
        var created = await RawHttpClient.PostAsync(hub, "/api/processes", token, """{"process_type":"export","total":10}""");
        return created.Status == 201 ? created.Json.GetProperty("process_id").GetString() : null;
    }

    /// <summary>A raw tab on <paramref name="hub"/>, its <c>process_list</c> read.</summary>
    public static async Task<RawWebSocketClient> OpenTabAsync(IPEndPoint hub, string token)
    {
        var tab = await RawWebSocketClient.OpenAsync(hub, queryToken: token);
        var list = await tab.ReceiveAsync();
        Assert.That(list.Type, Is.EqualTo("process_list"));
        return tab;
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();
}
