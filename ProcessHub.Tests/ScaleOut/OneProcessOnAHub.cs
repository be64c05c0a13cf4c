using System.Net;
using ProcessHub.Tests.Cli;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A real Redis, a real hub binary on it, a tab of user alice, and one process of hers started over HTTP whose
/// <c>process_started</c> the tab has seen; plus a connection of the test's own to Redis, to write what a script would.
/// </summary>
internal sealed class OneProcessOnAHub : IAsyncDisposable
{
    private OneProcessOnAHub(RedisServer redis, ConnectionMultiplexer admin, HubProcess hub, IPEndPoint endPoint, string token, RawWebSocketClient tab, string processId)
    {
        Redis = redis;
        Admin = admin;
        Hub = hub;
        EndPoint = endPoint;
        Token = token;
        Tab = tab;
        ProcessId = processId;
    }

    public RedisServer Redis { get; }
    public ConnectionMultiplexer Admin { get; }
    public HubProcess Hub { get; }
    public IPEndPoint EndPoint { get; }
    public string Token { get; }
    public RawWebSocketClient Tab { get; }
    public string ProcessId { get; }

    public static async Task<OneProcessOnAHub> StartAsync()
    {
        var redis = await RedisServer.StartAsync();
        var admin = await redis.ConnectAsync();
        var (hub, endPoint) = await HubCluster.StartBinaryAsync(redis);
        string token = HubCluster.Token("alice");
        var tab = await HubCluster.OpenTabAsync(endPoint, token);
        string id = await HubCluster.StartProcessAsync(endPoint, token);
        await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_started");
        return new OneProcessOnAHub(redis, admin, hub, endPoint, token, tab, id);
    }

    public async ValueTask DisposeAsync()
    {
        await Tab.DisposeAsync();
        await Hub.DisposeAsync();
        await Admin.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
