namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// The close codes the tests expect, written out from RFC 6455 7.4.1 and docs/protocol.md section 6 rather than taken
/// from the engine, for the same reason as <see cref="Opcodes"/>.
/// </summary>
internal static class CloseCodes
{
    public const ushort Normal = 1000;
    public const ushort GoingAway = 1001;
    public const ushort ProtocolError = 1002;
    public const ushort UnsupportedData = 1003;
    public const ushort InvalidPayload = 1007;
    public const ushort MessageTooBig = 1009;
}
