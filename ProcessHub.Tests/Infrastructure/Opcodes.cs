namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// RFC 6455 5.2 opcodes as raw numbers. The tests build frames from the RFC, not from the engine's enum, so a wrong
/// value in the engine cannot hide behind the same wrong value here.
/// </summary>
internal static class Opcodes
{
    public const byte Continuation = 0x0;
    public const byte Text = 0x1;
    public const byte Binary = 0x2;
    public const byte Close = 0x8;
    public const byte Ping = 0x9;
    public const byte Pong = 0xA;

    public static string Name(byte opcode) => opcode switch
    {
        Continuation => "continuation",
        Text => "text",
        Binary => "binary",
        Close => "close",
        Ping => "ping",
        Pong => "pong",
        _ => $"reserved 0x{opcode:X}",
    };
}
