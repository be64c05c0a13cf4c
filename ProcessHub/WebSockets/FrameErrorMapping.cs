namespace ProcessHub.WebSockets;

/// <summary>The one place a frame violation becomes a close code and a reason (docs/protocol.md section 6).</summary>
internal static class FrameErrorMapping
{
    public static ushort ToCloseCode(FrameError error) => error switch
    {
        FrameError.MessageTooBig => CloseCode.MessageTooBig,
        FrameError.InvalidUtf8 or FrameError.InvalidCloseReason => CloseCode.InvalidPayload,
        FrameError.BinaryMessage => CloseCode.UnsupportedData,
        _ => CloseCode.ProtocolError,
    };

    public static string ToReason(FrameError error) => error switch
    {
        FrameError.UnmaskedFrame => "unmasked client frame",
        FrameError.ReservedBitsSet => "reserved bits set",
        FrameError.ReservedOpcode => "reserved opcode",
        FrameError.FragmentedControlFrame => "fragmented control frame",
        FrameError.ControlFrameTooLong => "control frame too long",
        FrameError.UnexpectedContinuation => "continuation without a message",
        FrameError.ExpectedContinuation => "expected a continuation frame",
        FrameError.LengthTopBitSet => "invalid payload length",
        FrameError.NonMinimalLength => "payload length not in its minimal form",
        FrameError.MessageTooBig => "message too big",
        FrameError.InvalidUtf8 => "invalid utf-8",
        FrameError.BinaryMessage => "binary messages are not supported",
        FrameError.CloseOneBytePayload => "invalid close payload",
        FrameError.InvalidCloseCode => "invalid close code",
        FrameError.InvalidCloseReason => "invalid close reason",
        _ => "protocol error",
    };
}
