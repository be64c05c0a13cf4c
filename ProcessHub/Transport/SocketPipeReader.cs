using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace ProcessHub.Transport;

/// <summary>
/// A <see cref="PipeReader"/> straight over a non-blocking socket, for memory per idle connection: a connection
/// waiting for data holds no buffer and no stream, pipe, cancellation or async receive objects. Reads go to the
/// kernel directly without blocking; when it has nothing, the reader asks <see cref="ReadinessPoller"/> (epoll) for
/// one readiness event and completes the waiting read itself (it is its own <see cref="IValueTaskSource{T}"/>), so
/// a parked read costs the reader's own fields and nothing else. Where epoll is not available the wait is a
/// zero-byte receive through the runtime. Data is kept in one pooled array, compacted or grown as the consumer asks
/// for more, and returned to the pool the moment everything in it has been consumed.
/// </summary>
internal sealed class SocketPipeReader : PipeReader, IValueTaskSource<ReadResult>, IReadinessTarget, IThreadPoolWorkItem
{
    // Where a parked read stands; changed only by compare-and-swap, so exactly one of readiness, cancellation,
    // CancelPendingRead and Abort completes it.
    private const int NotWaiting = 0;
    private const int Waiting = 1;
    private const int Completing = 2;

    private const int InitialBufferSize = 4096;
    private const int MinimumReadSize = 1024;

    private readonly Socket _socket;
    private byte[]? _buffer;
    private int _start;        // first byte not yet consumed
    private int _end;          // end of the bytes received
    private int _examined;     // how far the consumer has looked; a read waits for bytes past it
    private bool _endOfStream; // the peer closed its side
    private bool _completed;   // our consumer is done with this reader
    private volatile bool _cancelNext;
    private volatile bool _aborted;

    private readonly ReadinessPoller? _poller;
    private readonly ulong _readinessToken;
    private bool _addedToPoller;
    private int _waitState;

    // A parked read waits in one of two ways. ReadAsync (the HTTP phase): its ValueTask's state lives in _asyncWait,
    // allocated at the first park and dropped when the consumer switches to callbacks. TryReadOrWait (the WebSocket
    // phase): just the consumer to call back, so an idle WebSocket keeps neither that state nor an async method.
    private AsyncWait? _asyncWait;
    private IReadWaiter? _waiter;
    private Exception? _armFailure;

    public SocketPipeReader(Socket socket)
    {
        _socket = socket;
        if (ReadinessPoller.IsSupported)
        {
            _poller = ReadinessPoller.Shared;
            _readinessToken = _poller.Register(this);
        }
    }

    ulong IReadinessTarget.ReadinessToken => _readinessToken;

    /// <summary>Whether <see cref="TryReadOrWait"/> can be used: where readiness comes from the poller (epoll).</summary>
    public bool CanCallBack => _poller is not null;

    /// <summary>
    /// Like <see cref="ReadAsync"/> without a <see cref="ValueTask"/>: true with a result when one is ready now (data,
    /// end of stream, a canceled read); false when the read parked, and then <paramref name="waiter"/> is called once,
    /// on the thread pool, to call this again. Errors are thrown, as awaiting <see cref="ReadAsync"/> would.
    /// Only where <see cref="CanCallBack"/>.
    /// </summary>
    public bool TryReadOrWait(out ReadResult result, IReadWaiter waiter)
    {
        ThrowIfCompleted();
        _asyncWait = null; // from here on this consumer reads this way only
        if (_cancelNext || _examined < _end || _endOfStream)
        {
            result = CurrentResult();
            return true;
        }
        if (_armFailure is { } failure)
        {
            throw failure;
        }
        if (TryReceiveNow(out result, out var error))
        {
            if (error is not null)
            {
                throw error;
            }
            return true;
        }
        _waiter = waiter;
        Volatile.Write(ref _waitState, Waiting);
        // Abort or CancelPendingRead may have run before the state said Waiting: they set their flag first, so look again.
        if (_aborted || _cancelNext)
        {
            if (TryClaimParkedRead())
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
        }
        else if (Volatile.Read(ref _waitState) == Waiting)
        {
            Arm();
        }
        result = default;
        return false;
    }

    public override bool TryRead(out ReadResult result)
    {
        ThrowIfCompleted();
        if (_cancelNext || _examined < _end || _endOfStream)
        {
            result = CurrentResult();
            return true;
        }
        result = default;
        return false;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        if (_cancelNext || _examined < _end || _endOfStream)
        {
            return new ValueTask<ReadResult>(CurrentResult());
        }
        return _poller is null ? ReceiveAsync(cancellationToken) : ReceiveOrPark(cancellationToken);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_buffer is null)
        {
            return; // an empty sequence was read: nothing to move
        }
        int consumedIndex = consumed.GetInteger();
        int examinedIndex = examined.GetInteger();
        if (consumedIndex < _start || consumedIndex > _end || examinedIndex < consumedIndex || examinedIndex > _end)
        {
            throw new InvalidOperationException("AdvanceTo was given a position outside the last read");
        }
        _start = consumedIndex;
        _examined = Math.Max(_examined, examinedIndex);
        if (_start == _end)
        {
            // Everything consumed: the buffer goes back now, so an idle connection holds none.
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
            _start = _end = _examined = 0;
        }
    }

    public override void CancelPendingRead()
    {
        _cancelNext = true;
        if (TryClaimParkedRead())
        {
            // A waiter called back reads the canceled result itself: taking it here would clear the flag it looks for.
            CompleteParkedRead(_waiter is null ? CurrentResult() : default, error: null, asynchronously: true);
        }
    }

    /// <summary>The connection is being closed: a parked read ends with <see cref="SocketError.OperationAborted"/>.</summary>
    public void Abort()
    {
        _aborted = true;
        if (TryClaimParkedRead())
        {
            CompleteParkedRead(default, new SocketException((int)SocketError.OperationAborted), asynchronously: true);
        }
        // Unregistering twice is harmless (the slot's generation has moved on), so Complete may do it again.
        _poller?.Unregister(_readinessToken);
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }
        _completed = true;
        if (_poller is not null)
        {
            _poller.Unregister(_readinessToken);
        }
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    /// <summary>Reads what the kernel has now; parks the read with the poller only when it has nothing.</summary>
    private ValueTask<ReadResult> ReceiveOrPark(CancellationToken cancellationToken)
    {
        if (_cancelNext)
        {
            return new ValueTask<ReadResult>(CurrentResult());
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (TryReceiveNow(out var result, out var error))
        {
            return error is null ? new ValueTask<ReadResult>(result) : ValueTask.FromException<ReadResult>(error);
        }
        var wait = _asyncWait ??= new AsyncWait();
        wait.Core.Reset();
        wait.Token = cancellationToken;
        Volatile.Write(ref _waitState, Waiting);
        if (cancellationToken.CanBeCanceled)
        {
            wait.Cancellation = cancellationToken.UnsafeRegister(static state => ((SocketPipeReader)state!).OnCanceled(), this);
        }
        // Abort or CancelPendingRead may have run before the state said Waiting: they set their flag first, so look again.
        if (_aborted || _cancelNext)
        {
            if (TryClaimParkedRead())
            {
                CompleteParkedRead(_aborted ? default : CurrentResult(), _aborted ? new SocketException((int)SocketError.OperationAborted) : null, asynchronously: false);
            }
        }
        else if (Volatile.Read(ref _waitState) == Waiting)
        {
            Arm();
        }
        return new ValueTask<ReadResult>(this, wait.Core.Version);
    }

    /// <summary>
    /// One non-blocking receive. False when the kernel has nothing yet; true with a result (data or end of stream)
    /// or an error.
    /// </summary>
    private bool TryReceiveNow(out ReadResult result, out Exception? error)
    {
        error = null;
        if (_aborted)
        {
            result = default;
            error = new SocketException((int)SocketError.OperationAborted);
            return true;
        }
        int received;
        SocketError status;
        try
        {
            // This path runs only with the poller, so where RawSocketIo works: no SocketAsyncContext is created.
            received = RawSocketIo.Receive(_socket.SafeHandle, FreeSpace(), out status);
        }
        catch (ObjectDisposedException ex)
        {
            ReleaseIfEmpty();
            result = default;
            error = ex;
            return true;
        }
        if (status == SocketError.WouldBlock)
        {
            ReleaseIfEmpty();
            result = default;
            return false;
        }
        if (status != SocketError.Success)
        {
            ReleaseIfEmpty();
            result = default;
            error = new SocketException((int)status);
            return true;
        }
        if (received == 0)
        {
            _endOfStream = true;
            ReleaseIfEmpty();
        }
        else
        {
            _end += received;
        }
        result = CurrentResult();
        return true;
    }

    private void Arm()
    {
        Exception? failure = null;
        try
        {
            if (!_poller!.Arm(_socket.SafeHandle, _readinessToken, ref _addedToPoller))
            {
                failure = new ObjectDisposedException(nameof(Socket));
            }
        }
        catch (SocketException ex)
        {
            failure = ex;
        }
        if (failure is not null && TryClaimParkedRead())
        {
            CompleteParkedRead(default, failure, asynchronously: true);
        }
    }

    private bool TryClaimParkedRead() => Interlocked.CompareExchange(ref _waitState, Completing, Waiting) == Waiting;

    void IReadinessTarget.OnReadable()
    {
        // On the poller's thread: claim the read and hand the receive to the thread pool.
        if (TryClaimParkedRead())
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_waiter is { } waiter)
        {
            // A consumer called back reads for itself (TryReadOrWait sees the data, the end, the abort or the cancel).
            _waiter = null;
            Volatile.Write(ref _waitState, NotWaiting);
            waiter.OnReadReady();
            return;
        }
        // Whoever claimed the read first wins; a cancellation that lost the race to readiness is honoured here.
        if (_cancelNext)
        {
            CompleteParkedRead(CurrentResult(), error: null, asynchronously: false);
            return;
        }
        if (_asyncWait!.Token.IsCancellationRequested)
        {
            CompleteParkedRead(default, new OperationCanceledException(_asyncWait.Token), asynchronously: false);
            return;
        }
        if (TryReceiveNow(out var result, out var error))
        {
            // Already on a pool thread: the consumer continues right here.
            CompleteParkedRead(result, error, asynchronously: false);
            return;
        }
        // Woken with nothing to read (the data went to an earlier read): park again.
        Volatile.Write(ref _waitState, Waiting);
        if (_aborted || _cancelNext || _asyncWait.Token.IsCancellationRequested)
        {
            if (TryClaimParkedRead())
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            return;
        }
        Arm();
    }

    private void OnCanceled()
    {
        if (TryClaimParkedRead())
        {
            CompleteParkedRead(default, new OperationCanceledException(_asyncWait!.Token), asynchronously: true);
        }
    }

    private void CompleteParkedRead(ReadResult result, Exception? error, bool asynchronously)
    {
        if (_waiter is not null)
        {
            // A consumer called back learns the outcome by reading again; an arming failure is kept for it to throw.
            if (error is not null && !_aborted)
            {
                _armFailure = error;
            }
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return;
        }
        var wait = _asyncWait!;
        // Not Dispose: it would wait for a running callback, and this may be that callback.
        wait.Cancellation.Unregister();
        wait.Cancellation = default;
        Volatile.Write(ref _waitState, NotWaiting);
        wait.Core.RunContinuationsAsynchronously = asynchronously;
        if (error is null)
        {
            wait.Core.SetResult(result);
        }
        else
        {
            wait.Core.SetException(error);
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _asyncWait!.Core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _asyncWait!.Core.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _asyncWait!.Core.OnCompleted(continuation, state, token, flags);

    // Pooled builder: a connection parked in a read keeps one reused box, not a fresh one per read.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_cancelNext)
            {
                return CurrentResult();
            }
            bool holdsData = _buffer is not null;
            if (!holdsData)
            {
                // Wait until the socket is readable without committing a buffer to it (memory per idle connection:
                // thousands of idle connections would otherwise each pin a 4 KiB read buffer).
                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            var space = FreeSpace();
            int received = _socket.Receive(space, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                if (holdsData)
                {
                    // More of a partly received message: wait for it while keeping what we have.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }
                ReleaseIfEmpty();
                continue;
            }
            if (error != SocketError.Success)
            {
                ReleaseIfEmpty();
                throw new SocketException((int)error);
            }
            if (received == 0)
            {
                _endOfStream = true;
                ReleaseIfEmpty();
                return CurrentResult();
            }
            _end += received;
            return CurrentResult();
        }
    }

    private ReadResult CurrentResult()
    {
        bool canceled = _cancelNext;
        _cancelNext = false;
        var sequence = _buffer is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
        return new ReadResult(sequence, canceled, _endOfStream);
    }

    /// <summary>Room after the received bytes: compacts the unconsumed bytes to the front, or grows, as needed.</summary>
    private Span<byte> FreeSpace()
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
            _start = _end = _examined = 0;
        }
        else if (_buffer.Length - _end < MinimumReadSize)
        {
            int unconsumed = _end - _start;
            byte[] target = unconsumed + MinimumReadSize <= _buffer.Length
                ? _buffer
                : ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, unconsumed + MinimumReadSize));
            _buffer.AsSpan(_start, unconsumed).CopyTo(target);
            if (!ReferenceEquals(target, _buffer))
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = target;
            }
            _examined -= _start;
            _start = 0;
            _end = unconsumed;
        }
        return _buffer.AsSpan(_end);
    }

    private void ReleaseIfEmpty()
    {
        if (_buffer is not null && _start == _end)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
            _start = _end = _examined = 0;
        }
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("the reader was completed");
        }
    }

    /// <summary>What a read parked by <see cref="ReadAsync"/> needs; not kept once the consumer reads by callback.</summary>
    private sealed class AsyncWait
    {
        public ManualResetValueTaskSourceCore<ReadResult> Core;
        public CancellationTokenRegistration Cancellation;
        public CancellationToken Token;
    }
}
