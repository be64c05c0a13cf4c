using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using ProcessHub.Tests.Cli;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// The real binary under a low open-file limit (<c>prlimit --nofile=256:256</c>) and more connections than it leaves
/// room for. It took connections until accept failed with EMFILE, and then aborted with "Out of memory." (a thread the
/// runtime started could not open its pipe), or kept running with a type that could not load in any new connection.
/// Now it stops accepting while the limit's last files are still free: the rest wait in the listen backlog, and are
/// served once connections close.
/// </summary>
[TestFixture]
[Category("process")]
public sealed partial class OpenFileLimitTests
{
    [Test]
    public async Task A_hub_at_its_open_file_limit_leaves_the_rest_waiting_and_serves_again_once_connections_close()
    {
        await using var hub = HubProcess.Start(["--port", "0", "--max-connections-per-user", "1000", "--ping-interval", "0"], runVia: ["prlimit", "--nofile=256:256"]);
        string listening = await hub.WaitForLineAsync(l => l.StartsWith("ProcessHub listening on", StringComparison.Ordinal), "the listening line");
        var endPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(Port().Match(listening).Groups[1].Value, CultureInfo.InvariantCulture));
        string room = Room().Match(hub.Stdout).Groups[1].Value;
        Assert.That(room, Is.Not.Empty, "the start says what the open-file limit (256) leaves room for");
        string token = await DevTokenAsync(endPoint);

        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 300; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync(endPoint);
                await socket.SendAsync(Encoding.ASCII.GetBytes(
                    $"GET /ws?token={token} HTTP/1.1\r\nHost: {endPoint}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            }
            await hub.WaitForLineAsync(l => l.Contains("as many as the open-file limit leaves room for", StringComparison.Ordinal), "the line that says the hub is full");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        // The connections that waited are taken in and end (their clients are gone); a new one is served.
        await using var tab = await RawWebSocketClient.OpenAsync(endPoint, queryToken: token);
        var list = await tab.ReceiveAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{endPoint}") };
        var health = await http.GetAsync("/healthz");
        string metrics = await http.GetStringAsync("/metrics");

        Assert.That(list.Type, Is.EqualTo("process_list"));
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(metrics, Does.Contain($"\nprocesshub_tcp_connection_capacity {room}\n"));
        Assert.That(long.Parse(Regex.Match(metrics, @"\nprocesshub_listener_full_total (\d+)\n").Groups[1].Value, CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(1));
        Assert.That(hub.Stderr, Does.Not.Contain("Out of memory"));
        Assert.That(hub.Stdout, Does.Not.Contain("failed under resource pressure"), "the limit's last files stayed free");
    }

    [Test]
    [Category("socket")]
    public async Task Every_way_a_connection_ends_gives_its_socket_back_to_the_listeners_count()
    {
        // The listener stops accepting when its count reaches the open-file room: a path that closed a socket without
        // counting it would, one connection at a time, stop the hub from accepting at all.
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("eval", "alice", total: 3);
        string token = host.Token("alice");
        for (int i = 0; i < 5; i++)
        {
            Assert.That((await RawHttpClient.GetAsync(host.EndPoint, "/healthz")).Status, Is.EqualTo(200));
            Assert.That((await RawHttpClient.SendRawAsync(host.EndPoint, Encoding.ASCII.GetBytes("BREW /pot HTTP/1.1\r\n\r\n"))).Status, Is.EqualTo(400));
            await using (var tab = await host.OpenTabAsync("alice"))
            {
                await tab.CloseAsync();
            }
            var dropped = await host.OpenTabAsync("alice");
            dropped.Abort();
            var unauthenticated = await RawWebSocketClient.OpenAsync(host.EndPoint);
            unauthenticated.Abort();
            using (var sse = await SseClient.GetAsync(host.EndPoint, $"/api/processes/{run.ProcessId}/events", token))
            {
                Assert.That(await sse.ReadBlockAsync(), Is.Not.Null, "the stream began");
            }
        }

        await Eventually.HoldsAsync(() => host.App.Server.OpenConnections == 0, "every connection ended");
        await Eventually.HoldsAsync(() => host.App.Server.AcceptedSockets == 0, $"every socket counted back (still {host.App.Server.AcceptedSockets})");
    }

    private static async Task<string> DevTokenAsync(IPEndPoint endPoint)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{endPoint}") };
        var answer = await http.GetFromJsonAsync<JsonElement>("/api/dev-token?user=flood");
        return answer.GetProperty("token").GetString()!;
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex Port();

    [GeneratedRegex(@"the open-file limit \(256\) leaves room for (\d+) connections")]
    private static partial Regex Room();
}
