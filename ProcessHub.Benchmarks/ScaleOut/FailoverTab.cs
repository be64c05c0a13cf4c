using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using ProcessHub.Benchmarks.Load;

namespace ProcessHub.Benchmarks.ScaleOut;

/// <summary>
/// A browser tab as the failover scenario needs it: connected to one hub, it follows one process by <c>seq</c>; when
/// that hub dies it reconnects to the hub it is given (as a load balancer would send it), checks the epoch of the new
/// <c>process_list</c>, and resumes with <c>subscribe</c> + <c>since</c> + <c>epoch</c> (docs/protocol.md 5.2). It
/// times the loss, the <c>subscribed</c> reply (<c>recovered</c>), and the moment it holds every <c>seq</c> up to the
/// one the reply showed (merged by seq, as clients must). It also notes when it sees the other process it knows, run by
/// the dead hub's in-process producer, end with <c>hub_lost</c>.
/// </summary>
internal sealed class FailoverTab : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly string _token;
    private readonly string _followed;
    private readonly string _inProcess;
    private readonly byte[] _buffer = new byte[BufferSize];
    private readonly HashSet<long> _seenAfterLoss = [];
    private readonly object _gate = new();
    private ClientWebSocket? _socket;
    private TaskCompletionSource _listed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _resumeFrom;
    private long _caughtUpTo = -1;
    private long _nextExpected;

    public FailoverTab(string token, string followed, string inProcess)
    {
        _token = token;
        _followed = followed;
        _inProcess = inProcess;
    }

    /// <summary>The epoch of the first <c>process_list</c>; the one after the reconnect must be the same.</summary>
    public string? Epoch { get; private set; }

    /// <summary>The highest seq of the followed process this tab holds.</summary>
    public long LastSeq { get; private set; }

    public long LostAt { get; private set; }
    public long ResumedAt { get; private set; }
    public long CaughtUpAt { get; private set; }
    public long HubLostAt { get; private set; }
    public bool? Recovered { get; private set; }
    public long Replayed { get; private set; }
    public bool EpochChanged { get; private set; }
    public string? Failure { get; private set; }
    public int ReconnectAttempts { get; private set; }

    /// <summary>Connects and reads until <c>process_list</c>; the receive loop then runs until the socket dies.</summary>
    public async Task<Task> ConnectAsync(IPEndPoint hub, CancellationToken cancel)
    {
        _socket = new ClientWebSocket();
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        _listed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _socket.ConnectAsync(new Uri($"ws://{hub}/ws?token={_token}"), cancel).ConfigureAwait(false);
        var loop = ReceiveLoopAsync(_socket, cancel);
        await _listed.Task.WaitAsync(cancel).ConfigureAwait(false);
        return loop;
    }

    /// <summary>
    /// After the loss: connects to <paramref name="hub"/> (retrying while it refuses, as a client's reconnect does),
    /// then <c>subscribe</c> with <c>since</c> = the last seq held and the epoch held. Returns once <c>subscribed</c> came.
    /// </summary>
    public async Task<Task> ResumeAsync(IPEndPoint hub, CancellationToken cancel)
    {
        long since;
        lock (_gate)
        {
            since = LastSeq;
            _resumeFrom = since;
            _nextExpected = since + 1;
        }
        Task loop;
        while (true)
        {
            ReconnectAttempts++;
            try
            {
                _socket?.Dispose();
                loop = await ConnectAsync(hub, cancel).ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException && !cancel.IsCancellationRequested)
            {
                await Task.Delay(20, cancel).ConfigureAwait(false);
            }
        }
        string subscribe = $"{{\"type\":\"subscribe\",\"process_id\":\"{_followed}\",\"since\":{since},\"epoch\":\"{Epoch}\",\"request_id\":\"resume\"}}";
        await _socket!.SendAsync(Encoding.UTF8.GetBytes(subscribe), WebSocketMessageType.Text, endOfMessage: true, cancel).ConfigureAwait(false);
        return loop;
    }

    public void MarkLost(long now)
    {
        if (LostAt == 0)
        {
            LostAt = now;
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket, CancellationToken cancel)
    {
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == _buffer.Length)
                    {
                        throw new IOException("a message larger than the tab's buffer");
                    }
                    result = await socket.ReceiveAsync(_buffer.AsMemory(length), cancel).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                OnMessage(_buffer.AsSpan(0, length), MonotonicClock.Now);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The hub died (the point of the scenario), or the scenario ended.
        }
        finally
        {
            _listed.TrySetException(new IOException("the connection closed before process_list"));
        }
    }

    private void OnMessage(ReadOnlySpan<byte> json, long now)
    {
        var reader = new Utf8JsonReader(json);
        string? type = null, processId = null, epoch = null, errorCode = null;
        long seq = -1, replayed = 0, processSeq = -1;
        bool? recovered = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "type": type = reader.GetString(); break;
                case "process_id": processId = reader.GetString(); break;
                case "epoch": epoch = reader.GetString(); break;
                case "seq": seq = reader.GetInt64(); break;
                case "replayed": replayed = reader.GetInt64(); break;
                case "recovered": recovered = reader.GetBoolean(); break;
                case "process":
                    processSeq = SeqOf(ref reader);
                    break;
                case "error":
                    errorCode = CodeOf(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        switch (type)
        {
            case "process_list":
                if (Epoch is null)
                {
                    Epoch = epoch;
                }
                else if (epoch != Epoch)
                {
                    EpochChanged = true;
                }
                _listed.TrySetResult();
                break;
            case "subscribed" when processId == _followed:
                lock (_gate)
                {
                    Recovered = recovered;
                    Replayed = replayed;
                    ResumedAt = now;
                    _caughtUpTo = processSeq;
                    Advance(now);
                }
                break;
            case "error":
                Failure ??= "error " + errorCode;
                break;
            case "process_failed" when processId == _inProcess && errorCode == "hub_lost":
                if (HubLostAt == 0)
                {
                    HubLostAt = now;
                }
                break;
            case not null when processId == _followed && seq > 0:
                lock (_gate)
                {
                    if (seq > LastSeq)
                    {
                        LastSeq = seq;
                    }
                    if (LostAt != 0 && seq > _resumeFrom)
                    {
                        _seenAfterLoss.Add(seq);
                        Advance(now);
                    }
                }
                break;
        }
    }

    /// <summary>Caught up: every seq after the resume point up to the one the subscribed reply showed is held.</summary>
    private void Advance(long now)
    {
        while (_seenAfterLoss.Contains(_nextExpected))
        {
            _nextExpected++;
        }
        if (CaughtUpAt == 0 && _caughtUpTo >= 0 && _nextExpected > _caughtUpTo)
        {
            CaughtUpAt = now;
        }
    }

    private static long SeqOf(ref Utf8JsonReader reader)
    {
        long seq = -1;
        int depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                seq = reader.GetInt64();
            }
        }
        return seq;
    }

    private static string? CodeOf(ref Utf8JsonReader reader)
    {
        string? code = null;
        int depth = reader.CurrentDepth;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                code = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
        }
        return code;
    }

    public void Dispose()
    {
        _socket?.Abort();
        _socket?.Dispose();
    }
}
