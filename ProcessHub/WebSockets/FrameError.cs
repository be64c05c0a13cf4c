namespace ProcessHub.WebSockets;

/// <summary>Every way a client frame can break RFC 6455 or our limits; mapped to a close code in one place.</summary>
internal enum FrameError : byte
{
    None = 0,
    UnmaskedFrame,
    ReservedBitsSet,
    ReservedOpcode,
    FragmentedControlFrame,
    ControlFrameTooLong,
    UnexpectedContinuation,
    ExpectedContinuation,
    LengthTopBitSet,
    NonMinimalLength,
    MessageTooBig,
    InvalidUtf8,
    BinaryMessage,
    CloseOneBytePayload,
    InvalidCloseCode,
    InvalidCloseReason,
}
