using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// A TCP proxy on loopback (a browser or client before a hub, or a hub before Redis), so a test can fail the network
/// while both ends run on: <see cref="CutAllAsync"/> drops every open connection, <see cref="Refuse"/> turns new ones
/// away. It keeps what the client sent on each connection, so a test can read the requests (and headers) it made.
/// </summary>
internal sealed class CuttableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private volatile IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, (TcpClient Client, TcpClient Upstream)> _open = new();
    private readonly ConcurrentQueue<StringBuilder> _sent = new();
    private readonly Task _accepting;
    private int _nextId;

    private CuttableProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Where new connections go; set it to fail over to another hub, as a load balancer would.</summary>
    public IPEndPoint Target
    {
        get => _target;
        set => _target = value;
    }

    /// <summary>While true, a new connection is closed as soon as it is accepted.</summary>
    public bool Refuse { get; set; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string BaseUrl => $"http://127.0.0.1:{Port}/";

    public static CuttableProxy Start(IPEndPoint target) => new(target);

    /// <summary>The bytes the browser sent, one string per connection (requests are ASCII heads, WebSocket frames are noise).</summary>
    public IReadOnlyList<string> SentByBrowser
    {
        get
        {
            var texts = new List<string>();
            foreach (var text in _sent)
            {
                lock (text)
                {
                    texts.Add(text.ToString());
                }
            }
            return texts;
        }
    }

    /// <summary>Drops every open connection at once, as a failing network would.</summary>
    public Task CutAllAsync()
    {
        foreach (var id in _open.Keys)
        {
            if (_open.TryRemove(id, out var pair))
            {
                pair.Client.Dispose();
                pair.Upstream.Dispose();
            }
        }
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await CutAllAsync();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopped
        }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            if (Refuse)
            {
                client.Dispose();
                continue;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var upstream = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        int id = Interlocked.Increment(ref _nextId);
        _open[id] = (client, upstream);
        var sent = new StringBuilder();
        _sent.Enqueue(sent);
        try
        {
            client.NoDelay = true;
            await upstream.ConnectAsync(_target, _stop.Token);
            var fromBrowser = PumpAsync(client.GetStream(), upstream.GetStream(), sent);
            var toBrowser = PumpAsync(upstream.GetStream(), client.GetStream(), null);
            await Task.WhenAny(fromBrowser, toBrowser);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // a cut, or either side leaving: both sides go
        }
        finally
        {
            _open.TryRemove(id, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, StringBuilder? record)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (record is not null)
                {
                    lock (record)
                    {
                        record.Append(Encoding.Latin1.GetString(buffer, 0, read));
                    }
                }
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // the other pump or a cut closed the streams
        }
    }
}
