using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using ProcessHub.Redis;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// The hub's own lease connection (<see cref="RedisLeaseRenewer"/>) against a real Redis that asks for a password:
/// it authenticates, selects the configured database and keeps the lease with the lease's time to live, by address
/// or by host name; a wrong
/// password is a warning that names neither password, and no lease. That it survives a starved thread pool, which
/// is why it exists, is shown with the real benchmark tool in <c>ScaleOutBenchSmokeTests</c>.
/// </summary>
[TestFixture]
[Category("process")]
public sealed class RedisLeaseRenewerTests
{
    private const string Password = "lease-test-password";

    [Test]
    public async Task With_the_password_it_keeps_the_lease_in_the_configured_database_and_with_a_wrong_one_it_says_so_without_the_password()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        await using var admin = await redis.ConnectAsync();
        // The admin connection authenticated before; every connection from here on must give the password.
        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CONFIG", "SET", "requirepass", Password);
        var database = admin.GetDatabase(3);
        using var logs = new CapturingLoggerProvider();
        var logger = logs.CreateLogger("ProcessHub.Redis");

        using (RedisLeaseRenewer.Start(ConfigurationOptions.Parse($"{redis.Configuration},password={Password},defaultDatabase=3"), "lease:good", TimeSpan.FromSeconds(2), logger))
        {
            var ttl = await Eventually.HoldsAsync(() => database.KeyTimeToLiveAsync("lease:good"), t => t is not null, "the lease set in database 3");
            Assert.That(ttl!.Value, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(TimeSpan.FromSeconds(2)), "the lease's time to live");
        }

        // By name: "localhost" may resolve to ::1 first while this Redis listens on 127.0.0.1 only.
        using (RedisLeaseRenewer.Start(ConfigurationOptions.Parse($"localhost:{redis.Port},password={Password}"), "lease:named", TimeSpan.FromSeconds(2), logger))
        {
            await Eventually.HoldsAsync(() => admin.GetDatabase().KeyExistsAsync("lease:named"), exists => exists, "the lease set through localhost");
        }

        string wrong = "not-the-" + Password;
        using (RedisLeaseRenewer.Start(ConfigurationOptions.Parse($"{redis.Configuration},password={wrong}"), "lease:bad", TimeSpan.FromSeconds(2), logger))
        {
            await Eventually.HoldsAsync(() => logs.Lines.Any(l => l.Contains("lease renewal over its own connection failed", StringComparison.Ordinal)), "the failed renewal's warning");
        }
        Assert.That(await admin.GetDatabase().KeyExistsAsync("lease:bad"), Is.False, "no lease without the right password");
        Assert.That(logs.Lines, Has.None.Contains(Password), "no log line holds a password");
    }

    [Test]
    public async Task The_first_renewal_comes_at_once_not_a_quarter_lease_after_the_start()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: false);
        await using var admin = await redis.ConnectAsync();

        // A quarter of this lease is 15 minutes: only a renewal at the start sets the key within the wait.
        using (RedisLeaseRenewer.Start(ConfigurationOptions.Parse(redis.Configuration), "lease:at-once", TimeSpan.FromHours(1), NullLogger.Instance))
        {
            var ttl = await Eventually.HoldsAsync(() => admin.GetDatabase().KeyTimeToLiveAsync("lease:at-once"), t => t is not null, "the lease set at the start");
            Assert.That(ttl!.Value, Is.GreaterThan(TimeSpan.FromMinutes(30)).And.LessThanOrEqualTo(TimeSpan.FromHours(1)), "the lease's time to live, just set");
        }
    }
}
