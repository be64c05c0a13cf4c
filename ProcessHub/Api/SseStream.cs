using System.Buffers;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using ProcessHub.Http;
using ProcessHub.Hub.Messages;
using ProcessHub.Hub.Processes;
using ProcessHub.Hub.Sessions;
using ProcessHub.Outbound;

namespace ProcessHub.Api;

/// <summary>
/// One Server-Sent Events stream of one process (docs/protocol.md section 1): <c>id: seq</c>, <c>event: type</c> and
/// <c>data:</c> with the same JSON as the WebSocket message, a <c>retry:</c> hint, a <c>: keep-alive</c> comment
/// when idle, and the end of the stream after the terminal event. The data is the payload of the very frame the
/// WebSocket fan-out sent: serialized once for both.
/// </summary>
internal sealed class SseStream : IProcessWatcher, IReplayTarget
{
    /// <summary>Events a stream may have waiting; past it the client is too slow and the stream ends (it can resume).</summary>
    private const int MaxPending = 10_000;

    /// <summary>
    /// Bytes of events written in one send. The waiting events are drained in turns of about this much, so a stream
    /// far behind (up to <see cref="MaxPending"/> events of up to ~9 KB) never builds one buffer of all of them.
    /// </summary>
    private const int BatchBytes = 64 * 1024;
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();
    private static readonly KeyValuePair<string, string>[] Headers = [new("Cache-Control", "no-cache"), new("X-Accel-Buffering", "no")];

    // Counted: a live event, which counts against MaxPending. A replayed one does not: the replay is bounded by the
    // history (--history-limit, up to a million), is enqueued all at once, and counted it cut every resume of more
    // than 10,000 events after its first 10,000, so that a client far behind caught up 10,000 events a reconnect.
    private readonly Channel<(SharedFrame Frame, long Seq, HubEventKind Kind, bool Counted)> _events =
        Channel.CreateUnbounded<(SharedFrame, long, HubEventKind, bool)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TimeProvider _time;
    private readonly long _afterSeq;
    private long _liveAfter;
    private int _pending;

    private SseStream(TimeProvider time, long afterSeq)
    {
        _time = time;
        _afterSeq = afterSeq;
    }

    // A live event: one the client has (its Last-Event-ID is past this hub's seq, as on a hub still catching up from
    // the shared engine) is not sent again; EventSource would hand it to the page twice.
    public void OnEvent(SharedFrame frame, long seq, HubEventKind kind)
    {
        if (seq > Volatile.Read(ref _liveAfter))
        {
            Enqueue(frame, seq, kind);
        }
        else if (HubEventNames.IsTerminal(kind))
        {
            _events.Writer.TryComplete(); // the client has the end already: the stream ends, as after a terminal event
        }
    }

    private void Enqueue(SharedFrame frame, long seq, HubEventKind kind, bool counted = true)
    {
        if (counted && Interlocked.Increment(ref _pending) > MaxPending)
        {
            _events.Writer.TryComplete();
            return;
        }
        frame.AddReference();
        if (!_events.Writer.TryWrite((frame, seq, kind, counted)))
        {
            frame.Release();
        }
    }

    // Ends after what is queued: the stream closes, and EventSource reconnects with Last-Event-ID after `retry`.
    public void OnReplaced() => _events.Writer.TryComplete();

    long IReplayTarget.FollowLive(ProcessSnapshot process)
    {
        // Called under the process's lock before the stream is added as its watcher: every live event comes after.
        Volatile.Write(ref _liveAfter, Math.Max(process.Seq, _afterSeq));
        return process.Seq; // the replay runs up to here; the watcher takes every later event
    }

    // The stream has its own bound (MaxPending live events): past it, it ends and the client resumes from where it got
    // to. The replay itself is bounded by the history.
    bool IReplayTarget.CanTake(ProcessSnapshot process, long bytes) => true;

    void IReplayTarget.OnReplayStart(ProcessSnapshot process, int replayed, bool recovered)
    {
        // SSE has no reply: a resumed stream just continues after Last-Event-ID.
    }

    void IReplayTarget.OnReplayed(SharedFrame frame, long seq, HubEventKind kind) => Enqueue(frame, seq, kind, counted: false);

    /// <summary>
    /// Counts a new stream of <paramref name="subject"/> against the connection limits (docs/protocol.md section 5.9),
    /// or answers the refusal: 503 past <c>--max-connections</c>, 429 past <c>--max-connections-per-user</c>. An admitted
    /// stream must be given back with <see cref="ConnectionLimits.CloseStream"/> when it ends.
    /// </summary>
    public static async ValueTask<bool> TryAdmitAsync(HttpExchange exchange, ConnectionLimits limits, string subject)
    {
        switch (limits.TryOpenStream(subject))
        {
            case StreamAdmission.Admitted:
                return true;
            case StreamAdmission.TooMany:
                await exchange.RespondErrorAsync(503, "unavailable", "too many connections", RetryAfterHeader.OneSecond).ConfigureAwait(false);
                return false;
            default:
                // Retry-After as every other 429 has: a client that handles 429 generically looks for it.
                await exchange.RespondErrorAsync(429, "too_many_connections", "too many connections for this user", RetryAfterHeader.OneSecond).ConfigureAwait(false);
                return false;
        }
    }

    /// <summary>
    /// Streams the events after <paramref name="afterSeq"/> until the terminal one, the client leaves, shutdown, or
    /// <paramref name="endsAt"/> (the token's expiry with the clock skew: a stream does not outlive its token, as a
    /// WebSocket does not, 2.6; the client's reconnect then needs a fresh token). <paramref name="watching"/> runs
    /// once the stream follows the process, so a producer started there cannot outrun it.
    /// </summary>
    public static async Task RunAsync(HttpExchange exchange, ProcessRegistry registry, string processId, long afterSeq, DateTimeOffset endsAt, TimeSpan keepAlive, CancellationToken stopping, TimeProvider time, Action? watching = null)
    {
        var stream = new SseStream(time, afterSeq);
        await exchange.StartStreamAsync(200, "text/event-stream; charset=utf-8", Headers).ConfigureAwait(false);
        if (exchange.Request.IsHead)
        {
            watching?.Invoke();
            return; // HEAD: the head says what a GET would stream, and nothing follows it
        }
        await exchange.WriteAsync("retry: 3000\n\n"u8.ToArray()).ConfigureAwait(false);

        using var done = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var tokenExpiry = endsAt == DateTimeOffset.MaxValue ? null : new TokenExpiry(time, endsAt, done);
        // The one replay path: the events after Last-Event-ID, then live ones, with nothing between.
        if (registry.Replay(processId, afterSeq, epoch: null, stream, watcher: stream) != ReplayOutcome.Following)
        {
            stream._events.Writer.TryComplete(); // ended (or just evicted): the replay is the whole stream
        }
        watching?.Invoke();
        // Closing the stream only stops the stream; the process runs on (the WebSocket channel shows it).
        var clientClosed = exchange.WaitForClientCloseAsync(done.Token);
        try
        {
            await stream.PumpAsync(exchange, keepAlive, clientClosed, done.Token).ConfigureAwait(false);
            if (tokenExpiry is { Expired: true } && !clientClosed.IsCompletedSuccessfully && !stopping.IsCancellationRequested)
            {
                // Said before the close, which otherwise looks like a shutdown's: an EventSource's reconnect with the
                // same URL gets 401 and fails for good, so a page listening for this event swaps in a fresh token first.
                await exchange.WriteAsync(TokenExpiredEvent).ConfigureAwait(false);
            }
        }
        finally
        {
            registry.Unwatch(processId, stream);
            await done.CancelAsync().ConfigureAwait(false);
            stream.ReleasePending();
        }
    }

    private static readonly byte[] TokenExpiredEvent =
        "event: token_expired\ndata: {\"type\":\"token_expired\",\"message\":\"the stream's token expired: reconnect with a fresh one\"}\n\n"u8.ToArray();

    private async Task PumpAsync(HttpExchange exchange, TimeSpan keepAlive, Task clientClosed, CancellationToken cancellationToken)
    {
        var reader = _events.Reader;
        var text = new ArrayBufferWriter<byte>(1024);
        // One wait for events and one keep-alive timer at a time, both kept across turns: a timer started every turn
        // and left to run out (15 s) piled up one per event under steady traffic.
        Task<bool>? ready = null;
        Task? idle = null;
        long lastWrite = _time.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            ready ??= reader.WaitToReadAsync(cancellationToken).AsTask();
            idle ??= Task.Delay(Clamp(keepAlive - _time.GetElapsedTime(lastWrite)), _time, cancellationToken);
            var first = await Task.WhenAny(ready, idle, clientClosed).ConfigureAwait(false);
            if (first == clientClosed || cancellationToken.IsCancellationRequested)
            {
                return;
            }
            if (first == idle)
            {
                idle = null;
                if (_time.GetElapsedTime(lastWrite) >= keepAlive)
                {
                    await exchange.WriteAsync(KeepAlive).ConfigureAwait(false);
                    lastWrite = _time.GetTimestamp();
                }
                continue; // otherwise events went out meanwhile: wait out the rest of the interval
            }
            var completed = ready;
            ready = null;
            if (!await completed.ConfigureAwait(false))
            {
                return; // completed: the process had ended and its replay is out, or the client fell too far behind
            }

            text.ResetWrittenCount();
            bool terminal = false;
            while (text.WrittenCount < BatchBytes && reader.TryRead(out var item))
            {
                if (item.Counted)
                {
                    Interlocked.Decrement(ref _pending);
                }
                AppendEvent(text, item.Frame.Payload, item.Seq, item.Kind);
                item.Frame.Release();
                terminal |= HubEventNames.IsTerminal(item.Kind);
            }
            // The send is done with the buffer when it completes, so the buffer is reused, not copied.
            await exchange.WriteAsync(text.WrittenMemory).ConfigureAwait(false);
            lastWrite = _time.GetTimestamp();
            if (terminal)
            {
                return;
            }
            if (text.Capacity > 4 * BatchBytes)
            {
                text = new ArrayBufferWriter<byte>(1024); // one very large event grew it: give that back
            }
        }
    }

    private static TimeSpan Clamp(TimeSpan delay) => delay < TimeSpan.Zero ? TimeSpan.Zero : delay;


    private static void AppendEvent(ArrayBufferWriter<byte> text, ReadOnlySpan<byte> json, long seq, HubEventKind kind)
    {
        Append(text, "id: ");
        Append(text, seq.ToString(CultureInfo.InvariantCulture));
        Append(text, "\nevent: ");
        Append(text, HubEventNames.Of(kind));
        // The hub's own JSON is one line, but a producer's progress, params or result are kept as sent, whitespace
        // included: a line break there would end the data field, and a blank line the event. Each line of the JSON
        // gets a data: field of its own; EventSource joins them with LF, and the JSON means the same (1.5).
        while (json.IndexOfAny((byte)'\r', (byte)'\n') is int at and >= 0)
        {
            Append(text, "\ndata: ");
            text.Write(json[..at]);
            int skip = json[at] == '\r' && at + 1 < json.Length && json[at + 1] == '\n' ? 2 : 1;
            json = json[(at + skip)..];
        }
        Append(text, "\ndata: ");
        text.Write(json);
        Append(text, "\n\n");
    }

    private static void Append(ArrayBufferWriter<byte> text, string value)
    {
        int written = Encoding.UTF8.GetBytes(value, text.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length)));
        text.Advance(written);
    }

    private void ReleasePending()
    {
        _events.Writer.TryComplete();
        while (_events.Reader.TryRead(out var item))
        {
            item.Frame.Release();
        }
    }
}
