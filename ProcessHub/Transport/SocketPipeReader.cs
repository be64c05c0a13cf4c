using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace ProcessHub.Transport;

/// <summary>
/// A <see cref="PipeReader"/> straight over a non-blocking socket, for memory per idle connection: a connection
/// waiting for data holds no buffer and no stream, pipe or cancellation objects, only the socket's own async
/// receive state (it waits with a zero-byte receive, then reads what arrived without blocking). Data is kept in
/// one pooled array, compacted or grown as the consumer asks for more, and returned to the pool the moment
/// everything in it has been consumed.
/// </summary>
internal sealed class SocketPipeReader : PipeReader
{
    private const int InitialBufferSize = 4096;
    private const int MinimumReadSize = 1024;

    private readonly Socket _socket;
    private byte[]? _buffer;
    private int _start;        // first byte not yet consumed
    private int _end;          // end of the bytes received
    private int _examined;     // how far the consumer has looked; a read waits for bytes past it
    private bool _endOfStream; // the peer closed its side
    private bool _completed;   // our consumer is done with this reader
    private bool _cancelNext;

    public SocketPipeReader(Socket socket) => _socket = socket;

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
        return ReceiveAsync(cancellationToken);
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

    public override void CancelPendingRead() => _cancelNext = true;

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }
        _completed = true;
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

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
}
