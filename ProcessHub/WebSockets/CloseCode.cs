namespace ProcessHub.WebSockets;

/// <summary>Close codes ProcessHub sends (docs/protocol.md section 6) and the RFC 6455 7.4 rules for codes it receives.</summary>
public static class CloseCode
{
    public const ushort Normal = 1000;
    public const ushort GoingAway = 1001;
    public const ushort ProtocolError = 1002;
    public const ushort UnsupportedData = 1003;
    public const ushort InvalidPayload = 1007;
    public const ushort PolicyViolation = 1008;
    public const ushort MessageTooBig = 1009;
    public const ushort InternalError = 1011;
    public const ushort TryAgainLater = 1013;
    public const ushort Unauthorized = 4401;
    public const ushort Forbidden = 4403;
    public const ushort SlowConsumer = 4429;

    /// <summary>Not a wire code: logged when the peer vanished without a close frame (RFC 6455 7.1.5).</summary>
    public const ushort Abnormal = 1006;

    /// <summary>
    /// RFC 6455 7.4: a code a peer may put on the wire. 1004-1006 and 1015 are reserved,
    /// 1012-1014 are registered with IANA, 1016-2999 are reserved for future RFCs,
    /// 3000-4999 belong to libraries and applications.
    /// </summary>
    public static bool IsValidOnWire(int code) =>
        code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    /// <summary>The codes ProcessHub itself sends: 1000-1003, 1007-1011, 1013 and 4000-4999.</summary>
    public static bool IsSendable(int code) =>
        code is (>= 1000 and <= 1003) or (>= 1007 and <= 1011) or 1013 or (>= 4000 and <= 4999);
}
