using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ProcessHub.Redis;

/// <summary>
/// Keeps this hub's lease alive from a thread of its own, over a Redis connection of its own: one
/// <c>SET key 1 PX lease</c> every quarter of the lease, written and read with blocking socket calls.
/// </summary>
/// <remarks>
/// Why not through StackExchange.Redis like everything else: a hub whose thread pool is starved (a storm of
/// handshakes and sends on one or two cores) renewed its lease 3-3.5 s late, and a lapsed lease ends the hub's
/// in-process processes with <c>hub_lost</c> while the hub is alive. StackExchange.Redis 3.x does its I/O on the thread
/// pool, so its writes wait for that pool whichever thread issues them (the <c>lease-starvation</c> benchmark: a 2-s
/// lease was gone in 27-30 of about 50 checks during 5 s of starvation, from the pool or from a dedicated thread
/// alike; through this connection, in none).
/// This connection needs no pool thread at all. It speaks only what a lease needs (AUTH, SELECT, SET over plain
/// TCP to one endpoint); a configuration beyond that (TLS, several endpoints, Sentinel) keeps the library's renewal
/// alone, which runs in every case anyway.
/// </remarks>
internal sealed class RedisLeaseRenewer : IDisposable
{
    private readonly EndPoint _endPoint;
    private readonly string? _user;
    private readonly string? _password;
    private readonly int _database;
    private readonly byte[] _renewal;
    private readonly TimeSpan _every;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _stopping = new();
    private readonly Thread _thread;
    private readonly byte[] _reply = new byte[512];
    private Socket? _socket;
    private bool _failing;

    // The reasons said in the current failing streak: each once. A streak that began with Redis going away and goes on
    // with another reason (Redis back without the hub's ACL user: WRONGPASS at every AUTH) said only the first.
    private readonly HashSet<string> _failuresSaid = new(StringComparer.Ordinal);

    private RedisLeaseRenewer(ConfigurationOptions configuration, string key, TimeSpan lease, ILogger logger)
    {
        // "redis" alone means port 6379, as the library reads it.
        var withPorts = configuration.Clone();
        withPorts.SetDefaultPorts();
        _endPoint = withPorts.EndPoints[0];
        _user = configuration.User;
        _password = configuration.Password;
        _database = configuration.DefaultDatabase ?? 0;
        _renewal = Command("SET", key, "1", "PX", ((long)lease.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        _every = lease / 4;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "processhub-redis-lease" };
    }

    /// <summary>A renewer for <paramref name="configuration"/>, started; null when it needs more than this connection speaks.</summary>
    public static RedisLeaseRenewer? Start(ConfigurationOptions configuration, string key, TimeSpan lease, ILogger logger)
    {
        if (configuration.EndPoints.Count != 1 || configuration.Ssl || configuration.ServiceName is not null || configuration.Proxy != Proxy.None)
        {
            logger.LogInformation("the lease is renewed through the client library only (its own connection speaks plain TCP to one Redis)");
            return null;
        }
        var renewer = new RedisLeaseRenewer(configuration, key, lease, logger);
        renewer._thread.Start();
        return renewer;
    }

    /// <summary>Stops renewing (before the hub deletes its lease, so it is not set again after).</summary>
    public void Dispose()
    {
        _stopping.Set();
        _thread.Join();
        _socket?.Dispose();
        _stopping.Dispose();
    }

    private void Run()
    {
        // The first renewal at once, not a quarter lease from now: the lease the hub set when it began to load can be
        // seconds old by now (a load of thousands of processes), and until a renewal comes a process this hub starts
        // could be ended as hub_lost by the others while the hub runs it.
        do
        {
            try
            {
                _socket ??= Connect();
                Call(_renewal);
                if (_failing)
                {
                    _failing = false;
                    _failuresSaid.Clear();
                    _logger.LogInformation("lease renewal over its own connection works again");
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                _socket?.Dispose();
                _socket = null;
                _failing = true;
                // Each reason once per failing streak, not every renewal interval: Redis away is also reported by the
                // engine, once.
                if (_failuresSaid.Count < 8 && _failuresSaid.Add(ex.Message))
                {
                    _logger.LogWarning("lease renewal over its own connection failed ({Message}); the client library's renewal goes on", ex.Message);
                }
            }
        }
        while (!_stopping.Wait(_every));
    }

    private Socket Connect()
    {
        IPAddress[] addresses = _endPoint switch
        {
            IPEndPoint ip => [ip.Address],
            DnsEndPoint dns => Dns.GetHostAddresses(dns.Host), // blocking too, on purpose
            _ => throw new IOException($"unsupported endpoint {_endPoint}"),
        };
        int port = _endPoint is IPEndPoint withPort ? withPort.Port : ((DnsEndPoint)_endPoint).Port;
        SocketException? refused = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                // Blocking calls throughout: the runtime's asynchronous sockets complete on the pool this thread
                // avoids. A Redis that does not answer within a renewal interval is a failed renewal.
                int timeout = (int)Math.Max(100, _every.TotalMilliseconds);
                socket.SendTimeout = timeout;
                socket.ReceiveTimeout = timeout;
                ConnectWithin(socket, new IPEndPoint(address, port), timeout);
                if (_password is not null)
                {
                    Call(_user is null ? Command("AUTH", _password) : Command("AUTH", _user, _password), socket);
                }
                if (_database != 0)
                {
                    Call(Command("SELECT", _database.ToString(CultureInfo.InvariantCulture)), socket);
                }
                return socket;
            }
            catch (SocketException ex)
            {
                // localhost may name ::1 first while Redis listens on 127.0.0.1 only: try the next address.
                socket.Dispose();
                refused = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw refused ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>
    /// A connect bounded like the calls after it (an unreachable host would otherwise hold this thread, and the
    /// hub's shutdown that waits for it, for the kernel's two minutes of retries): started non-blocking, then waited
    /// for with poll(2), which needs no pool thread either.
    /// </summary>
    private static void ConnectWithin(Socket socket, IPEndPoint endPoint, int timeoutMs)
    {
        socket.Blocking = false;
        try
        {
            socket.Connect(endPoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            if (!socket.Poll(timeoutMs * 1000, SelectMode.SelectWrite))
            {
                throw new IOException($"no connection to {endPoint} within {timeoutMs} ms");
            }
            int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error != 0)
            {
                throw new SocketException(error);
            }
        }
        socket.Blocking = true;
    }

    private void Call(byte[] command, Socket? socket = null)
    {
        socket ??= _socket!;
        socket.Send(command);
        // Every command here answers with one line: +OK, or -ERR ... (never the password).
        int length = 0;
        while (length < 2 || _reply[length - 2] != '\r' || _reply[length - 1] != '\n')
        {
            if (length == _reply.Length)
            {
                throw new IOException("an answer longer than expected");
            }
            int read = socket.Receive(_reply, length, _reply.Length - length, SocketFlags.None);
            if (read == 0)
            {
                throw new IOException("Redis closed the connection");
            }
            length += read;
        }
        if (_reply[0] != '+')
        {
            // An error line, "-WRONGPASS ...": said without its type marker, as the client library words Redis's errors.
            int from = _reply[0] == '-' ? 1 : 0;
            throw new IOException(Encoding.UTF8.GetString(_reply, from, length - 2 - from));
        }
    }

    /// <summary>A command as a RESP array of bulk strings.</summary>
    private static byte[] Command(params string[] parts)
    {
        var text = new StringBuilder().Append('*').Append(parts.Length).Append("\r\n");
        foreach (string part in parts)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
