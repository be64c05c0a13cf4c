using System.Net;
using System.Text.RegularExpressions;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Tests.Api;

namespace ProcessHub.Tests.Cli;

/// <summary>
/// The real binary: dev mode and its banner, a configured secret (no token printed, no dev-token endpoint), option
/// and environment validation (exit code 2), --help, and a graceful exit 0 on SIGTERM.
/// </summary>
[TestFixture]
[Category("process")]
internal sealed partial class CliTests
{
    private const string Secret = "cli-tests: a shared secret of well over 32 bytes";

    [Test]
    public async Task Dev_mode_prints_a_WebSocket_URL_with_a_token_that_works_and_serves_it_as_the_dev_token()
    {
        await using var hub = HubProcess.Start(["--port", "0", "--ping-interval", "0"]);
        var endPoint = await ListeningEndPointAsync(hub);
        string wsLine = await hub.WaitForLineAsync(l => l.Contains("ws://", StringComparison.Ordinal) && l.Contains("token=", StringComparison.Ordinal), "a WebSocket URL with a token");

        var url = WebSocketUrl().Match(wsLine);
        Assert.That(url.Success, Is.True, wsLine);
        Assert.That(url.Groups["endpoint"].Value, Is.EqualTo(endPoint.ToString()));
        Assert.That(hub.Stdout, Does.Contain("Dev mode"));

        await using (var socket = await RawWebSocketClient.OpenAsync(new Uri(url.Value)))
        {
            var list = await socket.ReceiveAsync();
            Assert.That(list.Type, Is.EqualTo("process_list"));
            Assert.That(list.Get("processes").GetArrayLength(), Is.Zero);
        }

        var devToken = await RawHttpClient.GetAsync(endPoint, "/api/dev-token");
        Assert.That(devToken.Status, Is.EqualTo(200), devToken.ToString());
        Assert.That(devToken.Json.Str("token"), Is.EqualTo(url.Groups["token"].Value));
        Assert.That(devToken.Json.Str("user"), Is.EqualTo("dev"));
        var asDev = await RawHttpClient.GetAsync(endPoint, "/api/processes", devToken.Json.Str("token"));
        Assert.That(asDev.Status, Is.EqualTo(200), asDev.ToString());
    }

    [TestCase(true, TestName = "Secret_from_the_option_prints_no_token_and_has_no_dev_token")]
    [TestCase(false, TestName = "Secret_from_PROCESSHUB_JWT_SECRET_prints_no_token_and_has_no_dev_token")]
    public async Task With_a_secret_no_token_is_printed_and_there_is_no_dev_token(bool asOption)
    {
        string[] args = asOption ? ["--port", "0", "--ping-interval", "0", "--jwt-secret", Secret] : ["--port", "0", "--ping-interval", "0"];
        var environment = asOption ? null : new Dictionary<string, string> { ["PROCESSHUB_JWT_SECRET"] = Secret };
        await using var hub = HubProcess.Start(args, environment);
        var endPoint = await ListeningEndPointAsync(hub);

        var devToken = await RawHttpClient.GetAsync(endPoint, "/api/dev-token");
        string token = new TokenValidator(new JwtSettings { Secret = Secret }).Issue("alice", [], TimeSpan.FromMinutes(5));
        var withOurToken = await RawHttpClient.GetAsync(endPoint, "/api/processes", token);
        await hub.TerminateAsync();
        int exitCode = await hub.WaitForExitAsync();

        Assert.That(devToken.Status, Is.EqualTo(404), devToken.ToString());
        Assert.That(withOurToken.Status, Is.EqualTo(200), "tokens signed with the configured secret work: " + withOurToken);
        Assert.That(exitCode, Is.Zero, hub.Stderr);
        string output = hub.Stdout + hub.Stderr;
        Assert.That(output, Does.Not.Contain("token").IgnoreCase, output);
        Assert.That(JwtLike().IsMatch(output), Is.False, output);
        Assert.That(output, Does.Not.Contain(Secret), output);
    }

    [Test]
    public async Task SIGTERM_closes_WebSockets_with_1001_and_exits_0()
    {
        await using var hub = HubProcess.Start(["--port", "0", "--ping-interval", "0", "--jwt-secret", Secret]);
        var endPoint = await ListeningEndPointAsync(hub);
        string token = new TokenValidator(new JwtSettings { Secret = Secret }).Issue("alice", [], TimeSpan.FromMinutes(5));
        await using var socket = await RawWebSocketClient.OpenAsync(endPoint, queryToken: token);
        Assert.That((await socket.ReceiveAsync()).Type, Is.EqualTo("process_list"));

        await hub.TerminateAsync();

        Assert.That((await socket.ReceiveCloseAsync()).Status, Is.EqualTo(CloseCodes.GoingAway));
        Assert.That(await hub.WaitForExitAsync(), Is.Zero, hub.Stderr);
    }

    [Test]
    public async Task No_dev_without_a_secret_exits_2_with_a_message()
    {
        await using var hub = HubProcess.Start(["--port", "0", "--no-dev"]);

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(2), hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain("--no-dev"));
        Assert.That(hub.Stdout, Does.Not.Contain("listening"));
    }

    [TestCase("70000")]
    [TestCase("-1")]
    [TestCase("abc")]
    public async Task An_invalid_port_exits_2(string port)
    {
        await using var hub = HubProcess.Start(["--port", port]);

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(2), hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain("port").IgnoreCase.Or.Contain(port));
        Assert.That(hub.Stdout, Does.Not.Contain("listening"));
    }

    [Test]
    public async Task Dev_mode_on_a_non_loopback_host_exits_2()
    {
        await using var hub = HubProcess.Start(["--host", "0.0.0.0", "--port", "0"]);

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(2), hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain("0.0.0.0"));
        Assert.That(hub.Stdout, Does.Not.Contain("listening"));
    }

    [TestCase("abc")]
    [TestCase("70000")]
    public async Task A_bad_PROCESSHUB_PORT_exits_2(string value)
    {
        await using var hub = HubProcess.Start([], new Dictionary<string, string> { ["PROCESSHUB_PORT"] = value });

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(2), hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain("PROCESSHUB_PORT"));
        Assert.That(hub.Stdout, Does.Not.Contain("listening"));
    }

    [Test]
    public async Task PROCESSHUB_PORT_is_used_when_the_option_is_absent()
    {
        // Without the variable the hub would take its default port, 8501.
        await using var hub = HubProcess.Start(["--ping-interval", "0"], new Dictionary<string, string> { ["PROCESSHUB_PORT"] = "0" });

        var endPoint = await ListeningEndPointAsync(hub);

        Assert.That(endPoint.Port, Is.Not.EqualTo(8501));
    }

    [Test]
    public async Task An_unknown_option_exits_2()
    {
        await using var hub = HubProcess.Start(["--port", "0", "--no-such-option"]);

        Assert.That(await hub.WaitForExitAsync(), Is.EqualTo(2), hub.Stdout);
        Assert.That(hub.Stderr, Does.Contain("--no-such-option"));
    }

    [Test]
    public async Task Help_exits_0_and_lists_the_options()
    {
        await using var hub = HubProcess.Start(["--help"]);

        Assert.That(await hub.WaitForExitAsync(), Is.Zero, hub.Stderr);
        foreach (var option in new[] { "--host", "--port", "--ping-interval", "--jwt-secret", "--no-dev", "--api-rate-limit", "--sse-keep-alive", "PROCESSHUB_PORT" })
        {
            Assert.That(hub.Stdout, Does.Contain(option));
        }
        Assert.That(hub.Stdout, Does.Not.Contain("listening"));
    }

    /// <summary>Reads the <c>ProcessHub listening on http://HOST:PORT</c> line.</summary>
    private static async Task<IPEndPoint> ListeningEndPointAsync(HubProcess hub)
    {
        string line = await hub.WaitForLineAsync(l => l.StartsWith("ProcessHub listening on http://", StringComparison.Ordinal), "'ProcessHub listening on'");
        var match = ListeningLine().Match(line);
        Assert.That(match.Success, Is.True, line);
        Assert.That(match.Groups["host"].Value, Is.EqualTo("127.0.0.1"));
        int port = int.Parse(match.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(port, Is.InRange(1, 65535));
        return new IPEndPoint(IPAddress.Loopback, port);
    }

    [GeneratedRegex(@"^ProcessHub listening on http://(?<host>[0-9.]+):(?<port>[0-9]+)\b")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"ws://(?<endpoint>[0-9.]+:[0-9]+)/ws\?token=(?<token>[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")]
    private static partial Regex WebSocketUrl();

    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")]
    private static partial Regex JwtLike();
}
