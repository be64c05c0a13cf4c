using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A Redis ACL user of one hub, so that a test can cut that hub off the shared engine while Redis and the other hubs
/// go on: cut off, it hears nothing (its pub/sub connection is killed and may not subscribe again) and cannot read
/// the log, but its scripts still run, as on a hub whose subscription wedged.
/// </summary>
internal sealed class RedisHubUser
{
    private readonly IServer _server;

    private RedisHubUser(IServer server, string name)
    {
        _server = server;
        Name = name;
    }

    public string Name { get; }

    /// <param name="admin">A connection the test keeps open (<see cref="RedisServer.ConnectAsync"/>).</param>
    public static async Task<RedisHubUser> CreateAsync(IConnectionMultiplexer admin, string name)
    {
        var user = new RedisHubUser(admin.GetServer(admin.GetEndPoints()[0]), name);
        await user._server.ExecuteAsync("ACL", "SETUSER", name, "on", $">{name}-secret", "~*", "&*", "+@all");
        return user;
    }

    /// <summary>
    /// The user as configuration Redis starts with (<see cref="RedisServer.ExtraArguments"/>): Redis forgets users made
    /// with ACL SETUSER when it restarts, and a hub that reconnects before the test makes its user again is taken
    /// back as 'default'. With <paramref name="refuseScripts"/>, as after <see cref="RefuseScriptsAsync"/>.
    /// </summary>
    public static string[] ServerArguments(string name, bool refuseScripts = false) =>
        ["--user", name, "on", $">{name}-secret", "~*", "&*", "+@all", .. (refuseScripts ? new[] { "-@scripting" } : [])];

    /// <summary>A user Redis already has (from <see cref="ServerArguments"/>), as it is.</summary>
    public static RedisHubUser Of(IConnectionMultiplexer admin, string name) => new(admin.GetServer(admin.GetEndPoints()[0]), name);

    /// <summary>The hub's own Redis configuration, signing in as this user.</summary>
    public string ConfigurationOn(RedisServer redis) => $"{redis.Configuration},user={Name},password={Name}-secret";

    public async Task CutOffAsync()
    {
        await _server.ExecuteAsync("ACL", "SETUSER", Name, "-xrange", "-subscribe", "-psubscribe", "-ssubscribe");
        await _server.ExecuteAsync("CLIENT", "KILL", "USER", Name, "TYPE", "pubsub");
    }

    /// <summary>
    /// Redis answers this hub's scripts -NOPERM while its connections stay up and its reads and lease renewals go on,
    /// as for a Redis that refuses the hub's writes (<see cref="LetBackAsync"/> undoes it).
    /// </summary>
    public Task RefuseScriptsAsync() => _server.ExecuteAsync("ACL", "SETUSER", Name, "-@scripting");

    public Task LetBackAsync() => _server.ExecuteAsync("ACL", "SETUSER", Name, "+@all");
}
