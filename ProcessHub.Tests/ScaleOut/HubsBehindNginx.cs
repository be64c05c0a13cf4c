using System.Net;
using ProcessHub.Tests.Cli;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// Two real hub binaries on one real Redis, behind docs/scale-out.md's nginx block (<see cref="NginxFront"/>): the
/// deployment <c>NginxFrontTests</c> starts from. Disposed in the reverse order of its start.
/// </summary>
internal sealed class HubsBehindNginx : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _started = [];

    private HubsBehindNginx()
    {
    }

    public RedisServer Redis { get; private set; } = null!;
    public HubProcess Hub1 { get; private set; } = null!;
    public IPEndPoint One { get; private set; } = null!;
    public HubProcess Hub2 { get; private set; } = null!;
    public IPEndPoint Two { get; private set; } = null!;
    public NginxFront Nginx { get; private set; } = null!;

    public static async Task<HubsBehindNginx> StartAsync()
    {
        var deployment = new HubsBehindNginx();
        try
        {
            deployment.Redis = deployment.Keep(await RedisServer.StartAsync());
            (deployment.Hub1, deployment.One) = await HubCluster.StartBinaryAsync(deployment.Redis);
            deployment.Keep(deployment.Hub1);
            (deployment.Hub2, deployment.Two) = await HubCluster.StartBinaryAsync(deployment.Redis);
            deployment.Keep(deployment.Hub2);
            deployment.Nginx = deployment.Keep(await NginxFront.StartAsync([deployment.One, deployment.Two]));
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync(); // what did start does not outlive a start that failed part-way
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].DisposeAsync();
        }
        _started.Clear();
    }

    private T Keep<T>(T part)
        where T : IAsyncDisposable
    {
        _started.Add(part);
        return part;
    }
}
