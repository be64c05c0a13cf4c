using System.Buffers;

namespace ProcessHub.Outbound;

/// <summary>
/// The queue half of <see cref="OutboundConnection"/>: a bounded ring of shared frames and its writer. Any thread may
/// enqueue; enqueueing never waits on the socket. The first frame into an empty queue schedules one drain (see
/// <see cref="FlushScheduler"/>); the drain takes every ready frame and sends them in one socket send (one loopback
/// send costs about the same whatever its size, so sends per message decide fan-out speed), and stays until the
/// queue is empty. Sends complete synchronously while the kernel has room, so a burst costs one thread-pool hop per
/// connection, not one per frame.
/// </summary>
/// <remarks>
/// Slow consumers (docs/protocol.md section 5): once <see cref="SlowConsumerPolicy.ShouldCoalesce"/> says the queue is
/// backed up, a progress frame whose process already has a progress frame waiting replaces it in place (the newest
/// wins; order within the process is kept since a process's only other events are its first and its last).
/// </remarks>
internal sealed partial class OutboundConnection : IThreadPoolWorkItem
{
    // A batch is capped so one huge backlog cannot pin an enormous send buffer.
    private const int MaxBatchBytes = 64 * 1024;
    private const int MaxBatchFrames = 256;

    private static long s_nextKey;

    private readonly object _gate = new();
    private SharedFrame[] _ring = Array.Empty<SharedFrame>();
    private int _head;
    private int _count;
    private long _queuedBytes;
    private int _exemptBytes; // queued bytes of FrameKind.List frames, which the byte limit does not count
    private bool _draining;
    private volatile bool _sendBlocked;
    private bool _closed;
    private bool _failed;
    private byte[]? _handshake;  // the 101 response, until the first send carries it
    private bool _opening;       // the handler's OnOpen is running on the receive loop's thread
    private bool _drainAfterOpen; // a drain was due during it: that thread runs it when OnOpen returns
    private long _pendingSinceTimestamp;

    /// <summary>Identifies the queue to a scheduler that spreads queues over flushers.</summary>
    internal ulong Key { get; } = (ulong)Interlocked.Increment(ref s_nextKey);

    /// <summary>Progress frames replaced by a newer one before they were sent.</summary>
    public long CoalescedCount { get; private set; }

    /// <inheritdoc/>
    public long QueuedBytes
    {
        get
        {
            lock (_gate)
            {
                return _queuedBytes;
            }
        }
    }

    /// <inheritdoc/>
    public bool HasRoomToSpareFor(long bytes)
    {
        lock (_gate)
        {
            return !_closed && _policy.LeavesReserve(_queuedBytes - _exemptBytes + bytes);
        }
    }

    /// <inheritdoc/>
    public TimeSpan BackedUpFor
    {
        get
        {
            lock (_gate)
            {
                return _count == 0 && !_draining ? TimeSpan.Zero : _time.GetElapsedTime(_pendingSinceTimestamp);
            }
        }
    }

    /// <summary>Nothing queued and no drain running: the next frame queued starts a drain through the scheduler.</summary>
    internal bool IsIdle
    {
        get
        {
            lock (_gate)
            {
                return _count == 0 && !_draining;
            }
        }
    }

    /// <summary>Queues one reference to <paramref name="frame"/> (the queue adds its own; the caller keeps theirs).</summary>
    internal EnqueueResult Enqueue(SharedFrame frame)
    {
        SharedFrame? superseded = null;
        bool schedule;
        bool overLimit;
        lock (_gate)
        {
            if (_closed)
            {
                return EnqueueResult.Closed;
            }
            frame.AddReference();
            if (frame.Kind == FrameKind.Progress && SlowConsumerPolicy.ShouldCoalesce(_sendBlocked, _queuedBytes) && TryFindQueuedProgress(frame.CoalesceKey, out int slot))
            {
                superseded = _ring[slot];
                _ring[slot] = frame;
                _queuedBytes += frame.Length - superseded.Length;
                CoalescedCount++;
                OutboundCounters.CountCoalesced();
            }
            else
            {
                Append(frame);
            }
            if (frame.Kind == FrameKind.Close)
            {
                _closed = true;
            }
            else if (frame.Kind == FrameKind.List)
            {
                _exemptBytes += frame.Length;
            }
            schedule = StartDrainIfIdle();
            if (schedule && _opening)
            {
                _drainAfterOpen = true;
                schedule = false;
            }
            overLimit = _policy.IsOverByteLimit(_queuedBytes - _exemptBytes);
        }
        superseded?.Release();
        if (schedule)
        {
            _scheduler.Schedule(this);
        }
        return overLimit ? EnqueueResult.OverLimit : EnqueueResult.Queued;
    }

    /// <summary>
    /// Queues our close frame as the last frame. With <paramref name="dropPending"/> (a slow consumer) the frames
    /// still waiting are discarded first so the close is not stuck behind them.
    /// </summary>
    private bool EnqueueClose(SharedFrame closeFrame, bool dropPending)
    {
        if (dropPending)
        {
            ReleaseAll(markClosed: false);
        }
        return Enqueue(closeFrame) != EnqueueResult.Closed;
    }

    void IThreadPoolWorkItem.Execute() => DrainNow();

    /// <summary>
    /// From here until <see cref="EndOpen"/> (the handler's <c>OnOpen</c>, on the receive loop's thread) the first drain
    /// is kept for that thread: the <c>process_list</c>, or a close, goes out right after, with no hop to a flusher
    /// and back (issue 15: a reconnect storm pays that hop per connection). Frames others queue meanwhile (a
    /// heartbeat ping, a shutdown's close) go out in the same drain.
    /// </summary>
    private void BeginOpen()
    {
        lock (_gate)
        {
            _opening = true;
        }
    }

    private void EndOpen()
    {
        bool drain;
        lock (_gate)
        {
            _opening = false;
            // Nothing queued by OnOpen (a client that authenticates with a message): the 101 goes out alone, now.
            drain = _drainAfterOpen || (_handshake is not null && StartDrainIfIdle());
            _drainAfterOpen = false;
        }
        if (drain)
        {
            DrainNow();
        }
    }

    /// <summary>Sends everything queued, in place while the socket takes it; continues asynchronously only if it would block.</summary>
    internal void DrainNow() => _ = DrainAsync();

    private bool StartDrainIfIdle()
    {
        if (_draining)
        {
            return false;
        }
        _draining = true;
        _pendingSinceTimestamp = _time.GetTimestamp();
        return true;
    }

    private bool TryFindQueuedProgress(long key, out int slot)
    {
        // Newest first: the match, if any, is the process's latest queued event. Not past a frame that must stay ahead of
        // this one: the process's own other events, and frames of no process (a subscribe's reply and its replayed
        // copies, a list, a pong), after which live events follow (docs/protocol.md 4.4). Taking the slot of a progress
        // queued before a subscribe's reply sent this live event ahead of the reply and its replay.
        for (int i = _count - 1; i >= 0; i--)
        {
            int index = (_head + i) % _ring.Length;
            var queued = _ring[index];
            if (queued.Kind == FrameKind.Progress)
            {
                if (queued.CoalesceKey == key)
                {
                    slot = index;
                    return true;
                }
            }
            else if (queued.CoalesceKey == key || queued.CoalesceKey == 0)
            {
                break;
            }
        }
        slot = -1;
        return false;
    }

    private void Append(SharedFrame frame)
    {
        if (_count == _ring.Length)
        {
            // Grows only while a backlog exists; an idle connection keeps a small ring. Two slots to start: an idle
            // connection keeps its ring for life (40 bytes, against 56 for four), and a connection that ever backs up
            // pays one extra doubling, once.
            var grown = new SharedFrame[Math.Max(2, _ring.Length * 2)];
            for (int i = 0; i < _count; i++)
            {
                grown[i] = _ring[(_head + i) % _ring.Length];
            }
            _ring = grown;
            _head = 0;
        }
        _ring[(_head + _count) % _ring.Length] = frame;
        _count++;
        _queuedBytes += frame.Length;
    }

    private async Task DrainAsync()
    {
        var batch = ArrayPool<SharedFrame>.Shared.Rent(MaxBatchFrames);
        byte[]? joined = null;
        bool afterSend = false;
        try
        {
            while (true)
            {
                int frames = TakeBatch(batch, afterSend, out int bytes, out bool closeInBatch, out byte[]? handshake);
                if (frames == 0 && handshake is null)
                {
                    return;
                }

                ReadOnlyMemory<byte> payload;
                if (handshake is null && frames == 1)
                {
                    payload = batch[0].Frame;
                }
                else if (frames == 0)
                {
                    payload = handshake;
                }
                else
                {
                    // Joining copies a few hundred bytes a frame; a send per frame would cost microseconds each.
                    int total = bytes + (handshake?.Length ?? 0);
                    if (joined is null || joined.Length < total)
                    {
                        if (joined is not null)
                        {
                            ArrayPool<byte>.Shared.Return(joined);
                        }
                        joined = ArrayPool<byte>.Shared.Rent(Math.Max(total, 4096));
                    }
                    int offset = 0;
                    if (handshake is not null)
                    {
                        handshake.CopyTo(joined, 0);
                        offset = handshake.Length;
                    }
                    for (int i = 0; i < frames; i++)
                    {
                        var frame = batch[i].Frame.Span;
                        frame.CopyTo(joined.AsSpan(offset));
                        offset += frame.Length;
                    }
                    payload = joined.AsMemory(0, offset);
                }

                try
                {
                    var send = _client.SendAsync(payload);
                    if (!send.IsCompleted)
                    {
                        // The kernel's buffer is full: from now until it drains, this consumer is backed up.
                        _sendBlocked = true;
                        try
                        {
                            await send.ConfigureAwait(false);
                        }
                        finally
                        {
                            _sendBlocked = false;
                        }
                    }
                    else
                    {
                        await send.ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
                {
                    ReleaseBatch(batch, frames);
                    Fail();
                    return;
                }
                ReleaseBatch(batch, frames);
                OutboundCounters.CountSend(frames, bytes);
                afterSend = true;
                if (closeInBatch)
                {
                    _webSocket.OnCloseFrameSent();
                }
            }
        }
        finally
        {
            // Every slot used was nulled by ReleaseBatch, so the array goes back clean without clearing all 256.
            ArrayPool<SharedFrame>.Shared.Return(batch);
            if (joined is not null)
            {
                ArrayPool<byte>.Shared.Return(joined);
            }
        }
    }

    private int TakeBatch(SharedFrame[] batch, bool afterSend, out int bytes, out bool closeInBatch, out byte[]? handshake)
    {
        bytes = 0;
        closeInBatch = false;
        handshake = null;
        lock (_gate)
        {
            if (afterSend)
            {
                // The stall clock restarts whenever a send completes: a consumer that drains slowly is not stalled.
                _pendingSinceTimestamp = _time.GetTimestamp();
            }
            if ((_count == 0 && _handshake is null) || _failed)
            {
                _draining = false;
                return 0;
            }
            // The 101 precedes every frame, whichever thread drains first.
            handshake = _handshake;
            _handshake = null;
            int frames = 0;
            while (_count > 0 && frames < MaxBatchFrames)
            {
                var next = _ring[_head];
                if (frames > 0 && bytes + next.Length > MaxBatchBytes)
                {
                    break;
                }
                batch[frames++] = next;
                bytes += next.Length;
                _queuedBytes -= next.Length;
                if (next.Kind == FrameKind.List)
                {
                    _exemptBytes -= next.Length;
                }
                closeInBatch |= next.Kind == FrameKind.Close;
                _ring[_head] = null!;
                _head = (_head + 1) % _ring.Length;
                _count--;
            }
            return frames;
        }
    }

    private static void ReleaseBatch(SharedFrame[] batch, int frames)
    {
        for (int i = 0; i < frames; i++)
        {
            batch[i].Release();
            batch[i] = null!;
        }
    }

    private void Fail()
    {
        lock (_gate)
        {
            _failed = true;
        }
        ReleaseAll(markClosed: true);
        _webSocket.OnSendFailed();
    }

    private void ReleaseAll(bool markClosed)
    {
        lock (_gate)
        {
            if (markClosed)
            {
                _closed = true;
            }
            for (int i = 0; i < _count; i++)
            {
                int index = (_head + i) % _ring.Length;
                _ring[index].Release();
                _ring[index] = null!;
            }
            _head = 0;
            _count = 0;
            _queuedBytes = 0;
            _exemptBytes = 0;
            if (markClosed)
            {
                _handshake = null; // nothing will be sent any more; a close that follows a drop still needs the 101 first
            }
        }
    }
}
