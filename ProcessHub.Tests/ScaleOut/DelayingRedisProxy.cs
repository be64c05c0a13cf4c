using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// A TCP proxy in front of Redis that, once <see cref="DelaySubscriptions"/> is set, hands a subscription
/// connection's replies to the hub a fixed time after Redis sent them (a pub/sub connection that delivers late but
/// delivers everything, in order), and passes every other connection through as it is. A connection is a subscription
/// once the client sent <c>SUBSCRIBE</c> on it. With <see cref="HoldFirstWhoAmIReply"/> set, the reply to the first
/// <c>ACL WHOAMI</c> any client sends (and what follows it on that connection) is held that long.
/// </summary>
internal sealed class DelayingRedisProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _redis;
    private readonly TimeSpan _delay;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _accepting;

    public DelayingRedisProxy(int redisPort, TimeSpan delay)
    {
        _redis = new IPEndPoint(IPAddress.Loopback, redisPort);
        _delay = delay;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The proxy's address, as a StackExchange.Redis configuration.</summary>
    public string Configuration => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>From now on, replies on subscription connections reach the client <c>delay</c> late.</summary>
    public bool DelaySubscriptions { get; set; }

    /// <summary>How long the reply to the first <c>ACL WHOAMI</c> through this proxy is held; zero holds none.</summary>
    public TimeSpan HoldFirstWhoAmIReply { get; init; }

    private int _whoAmIHeld;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await server.ConnectAsync(_redis, _stop.Token);
                lock (_sockets)
                {
                    _sockets.Add(client);
                    _sockets.Add(server);
                }
                var connection = new Connection();
                _ = PumpAsync(client, server, connection, fromClient: true);
                _ = PumpAsync(server, client, connection, fromClient: false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Socket from, Socket to, Connection connection, bool fromClient)
    {
        // Replies go through a queue stamped with the time they came, so a delayed connection keeps their order and
        // spacing; requests go straight on.
        var queue = Channel.CreateUnbounded<(long Due, byte[] Bytes)>();
        var writing = fromClient ? Task.CompletedTask : WriteDelayedAsync(queue.Reader, to);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }
                if (fromClient)
                {
                    string requests = Encoding.ASCII.GetString(buffer, 0, read);
                    if (requests.Contains("SUBSCRIBE", StringComparison.OrdinalIgnoreCase))
                    {
                        connection.IsSubscription = true;
                    }
                    if (HoldFirstWhoAmIReply > TimeSpan.Zero && requests.Contains("WHOAMI", StringComparison.OrdinalIgnoreCase)
                        && Interlocked.Exchange(ref _whoAmIHeld, 1) == 0)
                    {
                        // Set before the request goes on, so its reply is read after this: the next reply read is held,
                        // and the ones behind it keep their order.
                        Volatile.Write(ref connection.HoldNextReplyMs, (long)HoldFirstWhoAmIReply.TotalMilliseconds);
                    }
                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                }
                else
                {
                    var delay = connection.IsSubscription && DelaySubscriptions ? _delay : TimeSpan.Zero;
                    long held = Interlocked.Exchange(ref connection.HoldNextReplyMs, 0);
                    queue.Writer.TryWrite((Environment.TickCount64 + Math.Max((long)delay.TotalMilliseconds, held), buffer.AsSpan(0, read).ToArray()));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        queue.Writer.TryComplete();
        await writing;
        try
        {
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task WriteDelayedAsync(ChannelReader<(long Due, byte[] Bytes)> queue, Socket to)
    {
        try
        {
            await foreach (var (due, bytes) in queue.ReadAllAsync(_stop.Token))
            {
                long wait = due - Environment.TickCount64;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), _stop.Token); // the delay being simulated, not a wait for anything
                }
                await to.SendAsync(bytes, SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }
        await _accepting;
        _stop.Dispose();
    }

    private sealed class Connection
    {
        public volatile bool IsSubscription;
        public long HoldNextReplyMs;
    }
}
