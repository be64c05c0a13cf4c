using System.Net;
using ProcessHub.Server;
using ProcessHub.Tests.Cli;
using ProcessHub.Tests.Infrastructure;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// Two hubs on one real Redis: the producer's hub in process (signed in as an ACL user the test can refuse scripts to)
/// and a hub binary beside it, with a tab of alice on the other hub that has seen an in-process run of the producer's
/// hub start.
/// </summary>
internal sealed class ProducersHubAndAnother : IAsyncDisposable
{
    private RedisServer? _redis;
    private ConnectionMultiplexer? _admin;
    private HubProcess? _other;

    private ProducersHubAndAnother()
    {
    }

    public const string Owner = "alice";

    public string Token { get; } = HubCluster.Token(Owner);

    /// <summary>The producer's hub's Redis user.</summary>
    public RedisHubUser User { get; private set; } = null!;

    /// <summary>The producer's hub.</summary>
    public HubApplication Hub { get; private set; } = null!;

    public IPEndPoint OtherEndPoint { get; private set; } = null!;

    /// <summary>A tab of <see cref="Owner"/> on the other hub.</summary>
    public RawWebSocketClient TabElsewhere { get; private set; } = null!;

    /// <summary>An in-process run on the producer's hub, seen started by <see cref="TabElsewhere"/>.</summary>
    public ProcessHandle Run { get; private set; } = null!;

    public static async Task<ProducersHubAndAnother> StartAsync()
    {
        var hubs = new ProducersHubAndAnother();
        try
        {
            hubs._redis = await RedisServer.StartAsync();
            hubs._admin = await hubs._redis.ConnectAsync();
            hubs.User = await RedisHubUser.CreateAsync(hubs._admin, "producers-hub");
            hubs.Hub = HubCluster.StartInProcess(hubs._redis, hubs.User.ConfigurationOn(hubs._redis));
            (hubs._other, hubs.OtherEndPoint) = await HubCluster.StartBinaryAsync(hubs._redis);
            hubs.TabElsewhere = await HubCluster.OpenTabAsync(hubs.OtherEndPoint, hubs.Token);
            hubs.Run = await hubs.Hub.Producer.StartAsync("benchmark", Owner, total: 10);
            await hubs.TabElsewhere.ReceiveUntilAsync(m => m.ProcessId == hubs.Run.ProcessId && m.Type == "process_started");
            return hubs;
        }
        catch
        {
            await hubs.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (TabElsewhere is not null)
        {
            await TabElsewhere.DisposeAsync();
        }
        if (_other is not null)
        {
            await _other.DisposeAsync();
        }
        if (Hub is not null)
        {
            await Hub.DisposeAsync();
        }
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}
