using System.Buffers;
using System.Buffers.Binary;

namespace ProcessHub.WebSockets;

/// <summary>A parsed client frame header (RFC 6455 5.2).</summary>
internal readonly struct FrameHeader
{
    /// <summary>2 bytes, a 64-bit extended length and a 4-byte mask key.</summary>
    public const int MaxLength = 14;

    public FrameHeader(bool fin, Opcode opcode, ulong payloadLength, uint maskKey)
    {
        Fin = fin;
        Opcode = opcode;
        PayloadLength = payloadLength;
        MaskKey = maskKey;
    }

    public bool Fin { get; }
    public Opcode Opcode { get; }
    public ulong PayloadLength { get; }
    public uint MaskKey { get; }
    public bool IsControl => ((byte)Opcode & 0x8) != 0;

    /// <summary>
    /// Parses and checks one header. Every rule that needs only the header itself is checked here, and a violation
    /// comes back as a value: false with <paramref name="error"/> = None means "need more data".
    /// Rules that depend on the message in progress (continuations, size) are the reader's.
    /// </summary>
    public static bool TryParse(in ReadOnlySequence<byte> buffer, out FrameHeader header, out int headerLength, out FrameError error)
    {
        header = default;
        headerLength = 0;
        error = FrameError.None;
        if (buffer.Length < 2)
        {
            return false;
        }

        // Copy the at most 14 header bytes out of a possibly segmented buffer: cheaper than walking segments.
        Span<byte> bytes = stackalloc byte[MaxLength];
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        int available = (int)Math.Min(buffer.Length, MaxLength);
        if (first.Length >= available)
        {
            first[..available].CopyTo(bytes);
        }
        else
        {
            buffer.Slice(0, available).CopyTo(bytes);
        }

        byte b0 = bytes[0];
        byte b1 = bytes[1];
        bool fin = (b0 & 0x80) != 0;
        var opcode = (Opcode)(b0 & 0x0F);
        bool masked = (b1 & 0x80) != 0;
        int lengthCode = b1 & 0x7F;

        if ((b0 & 0x70) != 0)
        {
            error = FrameError.ReservedBitsSet; // no extension was negotiated (RFC 6455 5.2)
            return false;
        }
        if (opcode is not (Opcode.Continuation or Opcode.Text or Opcode.Binary or Opcode.Close or Opcode.Ping or Opcode.Pong))
        {
            error = FrameError.ReservedOpcode;
            return false;
        }
        if (!masked)
        {
            error = FrameError.UnmaskedFrame; // RFC 6455 5.1: a server MUST close on an unmasked client frame
            return false;
        }
        bool isControl = ((byte)opcode & 0x8) != 0;
        if (isControl)
        {
            // RFC 6455 5.5: control frames are never fragmented and carry at most 125 bytes.
            if (!fin)
            {
                error = FrameError.FragmentedControlFrame;
                return false;
            }
            if (lengthCode > 125)
            {
                error = FrameError.ControlFrameTooLong;
                return false;
            }
            if (opcode == Opcode.Close && lengthCode == 1)
            {
                error = FrameError.CloseOneBytePayload; // RFC 6455 5.5.1: a body starts with a 2-byte code
                return false;
            }
        }

        int extended = lengthCode switch { 126 => 2, 127 => 8, _ => 0 };
        int total = 2 + extended + 4;
        if (available < total)
        {
            return false;
        }

        ulong payloadLength = extended switch
        {
            2 => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]),
            8 => BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]),
            _ => (ulong)lengthCode,
        };
        if ((payloadLength & (1UL << 63)) != 0)
        {
            error = FrameError.LengthTopBitSet; // RFC 6455 5.2: the most significant bit MUST be 0
            return false;
        }
        if ((extended == 2 && payloadLength < 126) || (extended == 8 && payloadLength <= ushort.MaxValue))
        {
            error = FrameError.NonMinimalLength; // RFC 6455 5.2: the minimal number of bytes MUST be used
            return false;
        }

        header = new FrameHeader(fin, opcode, payloadLength, Masking.ReadKey(bytes.Slice(2 + extended, 4)));
        headerLength = total;
        return true;
    }
}
