using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>
/// <c>lease-starvation [--seconds S] [--ways pool,thread-ff,thread-sync,own] [--redis-server PATH]</c>: does a Redis
/// lease survive a starved thread pool, depending on where it is renewed? A hub renewed its lease on the pool only
/// (docs/benchmarks.md, "Scale-out on Redis": renewals 3-3.5 s late under load). Each way of renewing keeps a 2-s
/// lease alive every 500 ms while every pool worker is blocked for S seconds; a probe on a raw socket of its own (no
/// pool involved) counts how often the lease was missing. <c>own</c> is the hub's <see cref="ProcessHub.Redis.RedisLeaseRenewer"/>.
/// </summary>
internal static class LeaseStarvationCommand
{
    // The hub's proportions (a lease renewed every quarter of it), shorter than its 5 s default.
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RenewEvery = Lease / 4;

    private enum Renewal
    {
        PoolTimerAsync,
        DedicatedThreadFireAndForget,
        DedicatedThreadSync,
        OwnConnection,
    }

    public static async Task<int> RunAsync(string[] args)
    {
        double seconds = 5;
        string redisServer = "/usr/bin/redis-server";
        var ways = Enum.GetValues<Renewal>().ToList();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--redis-server": redisServer = args[++i]; break;
                case "--ways": ways = args[++i].Split(',').Select(Parse).ToList(); break;
                default: Console.Error.WriteLine($"lease-starvation: unknown option {args[i]}"); return 2;
            }
        }
        string directory = Path.Combine(Path.GetTempPath(), "processhub-lease-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        await using var redis = await RedisServerProcess.StartAsync(redisServer, directory, cpus: null).ConfigureAwait(false);
        Console.WriteLine($"lease-starvation: a {Lease.TotalSeconds:0}-s lease renewed every {RenewEvery.TotalMilliseconds:0} ms; every pool worker blocked for {seconds:0.#} s");
        foreach (var renewal in ways)
        {
            var (missing, checks, failures) = Measure(redis.Port, renewal, TimeSpan.FromSeconds(seconds));
            Console.WriteLine($"lease-starvation: {Describe(renewal)}: missing in {missing} of {checks} checks, {failures} renewals failed");
        }
        return 0;
    }

    private static Renewal Parse(string way) => way switch
    {
        "pool" => Renewal.PoolTimerAsync,
        "thread-ff" => Renewal.DedicatedThreadFireAndForget,
        "thread-sync" => Renewal.DedicatedThreadSync,
        "own" => Renewal.OwnConnection,
        _ => throw new ArgumentException($"lease-starvation: unknown way {way} (pool, thread-ff, thread-sync, own)"),
    };

    private static string Describe(Renewal renewal) => renewal switch
    {
        Renewal.PoolTimerAsync => "pool (PeriodicTimer + StringSetAsync, the library's renewal in the hub)",
        Renewal.DedicatedThreadFireAndForget => "dedicated thread, StringSet FireAndForget",
        Renewal.DedicatedThreadSync => "dedicated thread, StringSet synchronous",
        _ => "own connection from a dedicated thread (the hub's RedisLeaseRenewer)",
    };

    private static (int Missing, int Checks, int Failures) Measure(int port, Renewal renewal, TimeSpan starvation)
    {
        string key = "lease-" + renewal;
        using var multiplexer = ConnectionMultiplexer.Connect(new ConfigurationOptions
        {
            EndPoints = { { IPAddress.Loopback, port } },
            SyncTimeout = 1000,
            AsyncTimeout = 1000,
        });
        var db = multiplexer.GetDatabase();
        db.StringSet(key, "1", Lease);
        using var stop = new CancellationTokenSource();
        int failures = 0;
        Thread? thread = null;
        Task? timer = null;
        using var own = renewal == Renewal.OwnConnection
            ? ProcessHub.Redis.RedisLeaseRenewer.Start(ConfigurationOptions.Parse($"127.0.0.1:{port}"), key, Lease, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
            : null;
        if (renewal == Renewal.PoolTimerAsync)
        {
            timer = Task.Run(async () =>
            {
                using var periodic = new PeriodicTimer(RenewEvery);
                try
                {
                    while (await periodic.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
                    {
                        try
                        {
                            await db.StringSetAsync(key, "1", Lease).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is RedisException or TimeoutException)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // Measured.
                }
            });
        }
        else if (renewal != Renewal.OwnConnection)
        {
            var flags = renewal == Renewal.DedicatedThreadFireAndForget ? CommandFlags.FireAndForget : CommandFlags.None;
            thread = new Thread(() =>
            {
                while (!stop.Token.WaitHandle.WaitOne(RenewEvery))
                {
                    try
                    {
                        db.StringSet(key, "1", Lease, flags: flags);
                    }
                    catch (Exception ex) when (ex is RedisException or TimeoutException)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }) { IsBackground = true, Name = "lease-renewal" };
            thread.Start();
        }

        // Starve the pool: more blocking work items than it injects threads in that time; the probe below runs on
        // this thread over a plain socket, so it needs no pool thread itself.
        // Not disposed: work items still queued when the measurement ends wait on it after it is set.
        var release = new ManualResetEventSlim();
        for (int i = 0; i < 200; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static gate => gate.Wait(), release, preferLocal: false);
        }
        int missing = 0, checks = 0;
        using (var probe = new TcpClient())
        {
            probe.Connect(IPAddress.Loopback, port);
            var stream = probe.GetStream();
            byte[] exists = Encoding.ASCII.GetBytes($"*2\r\n$6\r\nEXISTS\r\n${key.Length}\r\n{key}\r\n");
            var answer = new byte[64];
            long end = Stopwatch.GetTimestamp() + (long)(starvation.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end)
            {
                stream.Write(exists);
                int read = stream.Read(answer);
                checks++;
                if (Encoding.ASCII.GetString(answer, 0, read).Trim() == ":0")
                {
                    missing++;
                }
                Thread.Sleep(100); // the probe's own pace, not a synchronisation
            }
        }
        release.Set();
        stop.Cancel();
        thread?.Join();
        timer?.GetAwaiter().GetResult();
        return (missing, checks, failures);
    }
}
