using System.Buffers.Binary;

namespace ProcessHub.WebSockets;

/// <summary>Writes server frame headers (RFC 6455 5.2). Server frames are never masked and never set RSV bits.</summary>
internal static class FrameHeaderWriter
{
    /// <summary>The longest header a server frame needs: 2 bytes plus a 64-bit length.</summary>
    public const int MaxHeaderLength = 10;

    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-------+-+-------------+-------------------------------+
    // |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    // |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    // |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    // | |1|2|3|       |K|             |                               |
    // +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    public static int HeaderLength(int payloadLength) => payloadLength switch
    {
        <= 125 => 2,
        <= ushort.MaxValue => 4,
        _ => 10,
    };

    /// <summary>Writes a FIN frame header into <paramref name="destination"/>; returns its length.</summary>
    public static int Write(Span<byte> destination, Opcode opcode, int payloadLength)
    {
        destination[0] = (byte)(0x80 | (byte)opcode);
        if (payloadLength <= 125)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }
        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }
        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }

    /// <summary>
    /// Writes the header so that it ends exactly at <paramref name="payloadStart"/>, in front of a payload that
    /// was serialized first (the payload length is known only after serializing). Returns where the frame begins.
    /// </summary>
    public static int WriteBefore(Span<byte> buffer, int payloadStart, Opcode opcode, int payloadLength)
    {
        int headerLength = HeaderLength(payloadLength);
        int frameStart = payloadStart - headerLength;
        Write(buffer[frameStart..], opcode, payloadLength);
        return frameStart;
    }
}
