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
    private static readonly KeyValuePair<string, string>[] Headers = [new("Cache-Control", "no-cache"), new("X-Accel-Buffering", "no")];

    private readonly Channel<(SharedFrame Frame, long Seq, HubEventKind Kind)> _events =
        Channel.CreateUnbounded<(SharedFrame, long, HubEventKind)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TimeProvider _time;
    private int _pending;

    private SseStream(TimeProvider time) => _time = time;

    public void OnEvent(SharedFrame frame, long seq, HubEventKind kind)
    {
        if (Interlocked.Increment(ref _pending) > MaxPending)
        {
            _events.Writer.TryComplete();
            return;
        }
        frame.AddReference();
        if (!_events.Writer.TryWrite((frame, seq, kind)))
        {
            frame.Release();
        }
    }

    // Ends after what is queued: the stream closes, and EventSource reconnects with Last-Event-ID after `retry`.
    public void OnReplaced() => _events.Writer.TryComplete();

    long IReplayTarget.FollowLive(ProcessSnapshot process) => process.Seq; // the watcher takes every later event

    void IReplayTarget.OnReplayStart(ProcessSnapshot process, int replayed, bool recovered)
    {
        // SSE has no reply: a resumed stream just continues after Last-Event-ID.
    }

    void IReplayTarget.OnReplayed(SharedFrame frame, long seq, HubEventKind kind) => OnEvent(frame, seq, kind);

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
                await exchange.RespondErrorAsync(429, "too_many_connections", "too many connections for this user").ConfigureAwait(false);
                return false;
        }
    }

    /// <summary>
    /// Streams the events after <paramref name="afterSeq"/> until the terminal one, the client leaves, or shutdown.
    /// <paramref name="watching"/> runs once the stream follows the process, so a producer started there cannot
    /// outrun it.
    /// </summary>
    public static async Task RunAsync(HttpExchange exchange, ProcessRegistry registry, string processId, long afterSeq, TimeSpan keepAlive, CancellationToken stopping, TimeProvider time, Action? watching = null)
    {
        var stream = new SseStream(time);
        await exchange.StartStreamAsync(200, "text/event-stream; charset=utf-8", Headers).ConfigureAwait(false);
        if (exchange.Request.IsHead)
        {
            watching?.Invoke();
            return; // HEAD: the head says what a GET would stream, and nothing follows it
        }
        await exchange.WriteAsync("retry: 3000\n\n"u8.ToArray()).ConfigureAwait(false);

        using var done = CancellationTokenSource.CreateLinkedTokenSource(stopping);
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
        }
        finally
        {
            registry.Unwatch(processId, stream);
            await done.CancelAsync().ConfigureAwait(false);
            stream.ReleasePending();
        }
    }

    private async Task PumpAsync(HttpExchange exchange, TimeSpan keepAlive, Task clientClosed, CancellationToken cancellationToken)
    {
        var reader = _events.Reader;
        var text = new ArrayBufferWriter<byte>(1024);
        while (!cancellationToken.IsCancellationRequested)
        {
            var ready = reader.WaitToReadAsync(cancellationToken).AsTask();
            var idle = Task.Delay(keepAlive, _time, cancellationToken);
            var first = await Task.WhenAny(ready, idle, clientClosed).ConfigureAwait(false);
            if (first == clientClosed || cancellationToken.IsCancellationRequested)
            {
                return;
            }
            if (first == idle)
            {
                await exchange.WriteAsync(": keep-alive\n\n"u8.ToArray()).ConfigureAwait(false);
                continue;
            }
            if (!await ready.ConfigureAwait(false))
            {
                return; // completed: the process had ended and its replay is out, or the client fell too far behind
            }

            text.ResetWrittenCount();
            bool terminal = false;
            while (reader.TryRead(out var item))
            {
                Interlocked.Decrement(ref _pending);
                AppendEvent(text, item.Frame.Payload, item.Seq, item.Kind);
                item.Frame.Release();
                terminal |= HubEventNames.IsTerminal(item.Kind);
            }
            await exchange.WriteAsync(text.WrittenMemory.ToArray()).ConfigureAwait(false);
            if (terminal)
            {
                return;
            }
        }
    }

    private static void AppendEvent(ArrayBufferWriter<byte> text, ReadOnlySpan<byte> json, long seq, HubEventKind kind)
    {
        // Our JSON is written unindented, so it is one line: one data: field.
        Append(text, "id: ");
        Append(text, seq.ToString(CultureInfo.InvariantCulture));
        Append(text, "\nevent: ");
        Append(text, HubEventNames.Of(kind));
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
