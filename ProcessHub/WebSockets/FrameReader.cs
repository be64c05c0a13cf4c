using System.Buffers;
using System.Buffers.Binary;
using System.Text.Unicode;

namespace ProcessHub.WebSockets;

/// <summary>
/// Turns the bytes of one connection into messages and control frames (RFC 6455 5 and 6.2).
/// Payload is unmasked and UTF-8-checked as it arrives, so a frame split across reads is
/// validated piece by piece and a bad byte fails the connection at once. Between messages
/// the reader holds no buffer: the message buffer is rented per message and returned after it.
/// </summary>
internal sealed class FrameReader
{
    /// <summary>A fragment of an unfinished message that carries less than this is told to the sink (<see cref="IFrameSink.OnSmallFragment"/>).</summary>
    public const int SmallFragmentBytes = 512;

    private readonly int _maxMessageBytes;

    // The frame being read: its header has been consumed, `_frameRemaining` payload bytes have not.
    private bool _inFrame;
    private FrameHeader _frame;
    private ulong _frameRemaining;
    private int _maskOffset;

    // The message being assembled, possibly across several frames.
    private bool _inMessage;
    private byte[]? _message;
    private int _messageLength;
    private Utf8StreamValidator _utf8;

    // Our close has gone out (RFC 6455 5.5.1): data frames are skipped unread, only control frames are acted on.
    private bool _discardingData;

    public FrameReader(int maxMessageBytes) => _maxMessageBytes = maxMessageBytes;

    /// <summary>
    /// From now on data frames are skipped, whatever their type or content, and only their framing is checked; control
    /// frames are still read. For a connection that has sent its close: the peer may have sent messages before it saw
    /// that close (RFC 6455 5.5.1 lets them be discarded), and its close frame, still to come, ends the handshake.
    /// </summary>
    public void DiscardDataFromNowOn()
    {
        if (_discardingData)
        {
            return;
        }
        _discardingData = true;
        ReturnMessageBuffer();
        _inMessage = false;
    }

    /// <summary>True while a message is partly received (only for tests and diagnostics).</summary>
    public bool HasPartialMessage => _inMessage;

    /// <summary>
    /// Consumes as much of <paramref name="buffer"/> as forms frames, calling <paramref name="sink"/> for each
    /// complete message and control frame. On return <paramref name="buffer"/> holds what was not consumed.
    /// </summary>
    public FrameReadStatus Read<TSink>(ref ReadOnlySequence<byte> buffer, TSink sink, out FrameError error)
        where TSink : IFrameSink
    {
        error = FrameError.None;
        while (true)
        {
            if (!_inFrame)
            {
                if (!_discardingData && sink.WantsNoMoreData)
                {
                    DiscardDataFromNowOn(); // a message just delivered, or another thread, queued our close
                }
                if (!FrameHeader.TryParse(buffer, out var header, out int headerLength, out error))
                {
                    return error == FrameError.None ? FrameReadStatus.NeedMoreData : Fail();
                }
                error = _discardingData ? FrameError.None : CheckAgainstMessageState(header);
                if (error != FrameError.None)
                {
                    return Fail();
                }
                buffer = buffer.Slice(headerLength);
                _frame = header;
                _frameRemaining = header.PayloadLength;
                _maskOffset = 0;
                _inFrame = true;
                if (!header.IsControl && !_inMessage && !_discardingData)
                {
                    _inMessage = true;
                    _messageLength = 0;
                    _utf8.Reset();
                }
            }

            if (_frame.IsControl)
            {
                // Control payloads are at most 125 bytes: wait for the whole of it, then act on it.
                if ((ulong)buffer.Length < _frameRemaining)
                {
                    return FrameReadStatus.NeedMoreData;
                }
                var status = ReadControlFrame(ref buffer, sink, out error);
                if (status != FrameReadStatus.NeedMoreData)
                {
                    return status;
                }
                continue;
            }

            if (_discardingData)
            {
                long skip = (long)Math.Min((ulong)buffer.Length, _frameRemaining);
                buffer = buffer.Slice(skip);
                _frameRemaining -= (ulong)skip;
                if (_frameRemaining > 0)
                {
                    return FrameReadStatus.NeedMoreData;
                }
                _inFrame = false;
                continue;
            }
            if (!ReadDataPayload(ref buffer, out error))
            {
                return error == FrameError.None ? FrameReadStatus.NeedMoreData : Fail();
            }
            if (_frame.Fin)
            {
                if (!_utf8.IsComplete)
                {
                    error = FrameError.InvalidUtf8; // the message ended inside a code point
                    return Fail();
                }
                DeliverMessage(sink);
            }
            else if (_frame.PayloadLength < SmallFragmentBytes)
            {
                // Only small fragments are budgeted: a client that streams a large message in 64 KiB frames (allowed
                // up to --max-message-bytes) pays per message, while one that sends empty or tiny fragments, which
                // grow the message slowly or not at all, pays per frame.
                sink.OnSmallFragment();
            }
        }
    }

    /// <summary>Returns the message buffer to the pool; called when the connection ends.</summary>
    public void Reset()
    {
        ReturnMessageBuffer();
        _inMessage = false;
        _inFrame = false;
        _discardingData = false;
    }

    // RFC 6455 5.4: a fragmented message is a text/binary frame with FIN=0, continuations, and a FIN=1 continuation;
    // control frames may come in between. Our limit is enforced here, at the header, before any payload is buffered.
    private FrameError CheckAgainstMessageState(in FrameHeader header)
    {
        if (header.IsControl)
        {
            return FrameError.None;
        }
        if (header.Opcode == Opcode.Continuation)
        {
            if (!_inMessage)
            {
                return FrameError.UnexpectedContinuation;
            }
        }
        else if (_inMessage)
        {
            return FrameError.ExpectedContinuation;
        }
        else if (header.Opcode == Opcode.Binary)
        {
            return FrameError.BinaryMessage; // the protocol is text only (docs/protocol.md section 4)
        }

        int alreadyBuffered = _inMessage ? _messageLength : 0;
        if (header.PayloadLength > (ulong)(_maxMessageBytes - alreadyBuffered))
        {
            return FrameError.MessageTooBig;
        }
        return FrameError.None;
    }

    private bool ReadDataPayload(ref ReadOnlySequence<byte> buffer, out FrameError error)
    {
        error = FrameError.None;
        while (_frameRemaining > 0)
        {
            if (buffer.IsEmpty)
            {
                return false;
            }
            ReadOnlySpan<byte> source = buffer.FirstSpan;
            if (source.IsEmpty)
            {
                source = FirstNonEmptySpan(buffer);
            }
            int take = (int)Math.Min((ulong)source.Length, _frameRemaining);
            EnsureMessageCapacity(_messageLength + take);
            var target = _message.AsSpan(_messageLength, take);
            source[..take].CopyTo(target);
            _maskOffset = Masking.Apply(target, _frame.MaskKey, _maskOffset);
            if (!_utf8.Append(target))
            {
                error = FrameError.InvalidUtf8;
                return false;
            }
            _messageLength += take;
            _frameRemaining -= (ulong)take;
            buffer = buffer.Slice(take);
        }
        _inFrame = false;
        return true;
    }

    // A ReadOnlySequence may hold empty segments, even first: taking an empty FirstSpan would take 0 bytes forever.
    private static ReadOnlySpan<byte> FirstNonEmptySpan(ReadOnlySequence<byte> buffer)
    {
        foreach (var memory in buffer)
        {
            if (!memory.IsEmpty)
            {
                return memory.Span;
            }
        }
        return default;
    }

    private void EnsureMessageCapacity(int needed)
    {
        if (_message is not null && _message.Length >= needed)
        {
            return;
        }
        // Grow geometrically but never past the limit: a message is at most _maxMessageBytes.
        int size = Math.Min(_maxMessageBytes, Math.Max(needed, (_message?.Length ?? 0) * 2));
        size = Math.Max(size, needed);
        var grown = ArrayPool<byte>.Shared.Rent(size);
        if (_message is not null)
        {
            _message.AsSpan(0, _messageLength).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_message);
        }
        _message = grown;
    }

    private void DeliverMessage<TSink>(TSink sink)
        where TSink : IFrameSink
    {
        var payload = _message is null ? ReadOnlySpan<byte>.Empty : _message.AsSpan(0, _messageLength);
        _inMessage = false;
        try
        {
            sink.OnTextMessage(payload);
        }
        finally
        {
            ReturnMessageBuffer();
        }
    }

    private FrameReadStatus ReadControlFrame<TSink>(ref ReadOnlySequence<byte> buffer, TSink sink, out FrameError error)
        where TSink : IFrameSink
    {
        error = FrameError.None;
        int length = (int)_frameRemaining;
        Span<byte> payload = stackalloc byte[125];
        payload = payload[..length];
        buffer.Slice(0, length).CopyTo(payload);
        Masking.Apply(payload, _frame.MaskKey, 0);
        buffer = buffer.Slice(length);
        _inFrame = false;

        switch (_frame.Opcode)
        {
            case Opcode.Ping:
                sink.OnPing(payload);
                return FrameReadStatus.NeedMoreData;
            case Opcode.Pong:
                sink.OnPong(payload); // unsolicited pongs are allowed and ignored (RFC 6455 5.5.3)
                return FrameReadStatus.NeedMoreData;
            default:
                return ReadClose(payload, sink, out error);
        }
    }

    // RFC 6455 5.5.1 and 7.4: an empty body, or a 2-byte valid code followed by a UTF-8 reason.
    private FrameReadStatus ReadClose<TSink>(ReadOnlySpan<byte> payload, TSink sink, out FrameError error)
        where TSink : IFrameSink
    {
        error = FrameError.None;
        if (payload.Length == 0)
        {
            sink.OnClose(null, default);
            return FrameReadStatus.CloseReceived;
        }
        ushort code = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!CloseCode.IsValidOnWire(code))
        {
            error = FrameError.InvalidCloseCode;
            return Fail();
        }
        var reason = payload[2..];
        if (!Utf8.IsValid(reason))
        {
            error = FrameError.InvalidCloseReason;
            return Fail();
        }
        sink.OnClose(code, reason);
        return FrameReadStatus.CloseReceived;
    }

    private FrameReadStatus Fail()
    {
        Reset();
        return FrameReadStatus.Error;
    }

    private void ReturnMessageBuffer()
    {
        if (_message is not null)
        {
            ArrayPool<byte>.Shared.Return(_message);
            _message = null;
        }
        _messageLength = 0;
    }
}
