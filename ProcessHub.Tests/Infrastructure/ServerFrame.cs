using System.Buffers.Binary;
using System.Text;

namespace ProcessHub.Tests.Infrastructure;

/// <summary>One frame as the server put it on the wire, with everything a test may want to check about it.</summary>
internal sealed record ServerFrame(bool Fin, byte Rsv, byte Opcode, bool Masked, byte[] Payload)
{
    /// <summary>The close code of a close frame; null for an empty body (or a 1-byte body, which is itself a bug).</summary>
    public ushort? CloseCode => Opcode == Opcodes.Close && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    public string CloseReason => Payload.Length > 2 ? Encoding.UTF8.GetString(Payload, 2, Payload.Length - 2) : string.Empty;

    public string Text => Encoding.UTF8.GetString(Payload);

    public override string ToString()
    {
        var description = $"{Opcodes.Name(Opcode)} frame, FIN={(Fin ? 1 : 0)}, RSV={Rsv}, {(Masked ? "masked, " : string.Empty)}{Payload.Length} bytes";
        if (Opcode == Opcodes.Close)
        {
            description += CloseCode is ushort code ? $", code {code} \"{CloseReason}\"" : ", no code";
        }
        else if (Payload.Length <= 64)
        {
            description += $" [{Convert.ToHexString(Payload)}]";
        }
        return description;
    }
}
