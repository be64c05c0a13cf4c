using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// The next server frame must be a close with <see cref="Code"/> (null: an empty body), and after it the server
/// must end the TCP connection. When the server started the close (<see cref="AnswerIt"/>), the client answers it
/// as RFC 6455 5.5.1 asks and half-closes; when the client started it, the server's close is already the answer.
/// </summary>
internal sealed record ExpectCloseStep(ushort? Code, bool AnswerIt) : CaseStep
{
    public override async Task RunAsync(RawWebSocketClient client)
    {
        var frame = await client.ReceiveFrameAsync();
        Assert.That(frame.Opcode, Is.EqualTo(Opcodes.Close), $"expected a close frame with code {Describe(Code)}, got: {frame}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.CloseCode, Is.EqualTo(Code), $"wrong close code: {frame}");
            Assert.That(frame.Payload, Has.Length.Not.EqualTo(1), "a close body is empty or starts with a 2-byte code (RFC 6455 5.5.1)");
            Assert.That(frame.Payload, Has.Length.LessThanOrEqualTo(125), "a control frame carries at most 125 bytes (RFC 6455 5.5)");
            Assert.That(frame.Fin && frame.Rsv == 0 && !frame.Masked, Is.True, $"malformed server close frame: {frame}");
        }
        if (Code is null)
        {
            Assert.That(frame.Payload, Is.Empty, "an empty close is answered with an empty close");
        }
        if (AnswerIt)
        {
            await client.AnswerCloseAsync(frame);
        }
        await client.ExpectClosedAsync();
    }

    private static string Describe(ushort? code) => code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)";

    public override string ToString() => $"expect close {Describe(Code)}, then the end of TCP";
}
