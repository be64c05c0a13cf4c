using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;

namespace KestrelPeer;

/// <summary>
/// Every open WebSocket with its own unbounded channel and send loop: Broadcast only enqueues, so one slow
/// client does not hold up the others (the usual ASP.NET Core pattern; no coalescing, every message delivered).
/// </summary>
internal sealed class BroadcastHub
{
    /// <summary>Sent first to every new connection: the connection storm waits for a first message.</summary>
    private static readonly byte[] Hello = "{\"type\":\"hello\"}"u8.ToArray();
    private readonly ConcurrentDictionary<long, Channel<byte[]>> _connections = new();
    private long _nextId;

    public int Count => _connections.Count;

    public void Broadcast(byte[] message)
    {
        foreach (var pair in _connections)
        {
            pair.Value.Writer.TryWrite(message);
        }
    }

    public async Task RunAsync(WebSocket socket, CancellationToken aborted)
    {
        long id = Interlocked.Increment(ref _nextId);
        var channel = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        channel.Writer.TryWrite(Hello);
        _connections[id] = channel;
        var sending = SendLoopAsync(socket, channel.Reader, aborted);
        try
        {
            var buffer = new byte[256];
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, aborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client went away.
        }
        finally
        {
            _connections.TryRemove(id, out _);
            channel.Writer.TryComplete();
        }
        try
        {
            await sending;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client went away mid-send.
        }
    }

    private static async Task SendLoopAsync(WebSocket socket, ChannelReader<byte[]> reader, CancellationToken aborted)
    {
        while (await reader.WaitToReadAsync(aborted))
        {
            while (reader.TryRead(out var message))
            {
                await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, aborted);
            }
        }
    }
}
