using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>Writes conformance cases the way Autobahn describes them: send this, expect that.</summary>
internal sealed class CaseBuilder
{
    private readonly string _id;
    private readonly string _title;
    private readonly List<CaseStep> _steps = [];

    private CaseBuilder(string id, string title)
    {
        _id = id;
        _title = title;
    }

    public static CaseBuilder Case(string id, string title) => new(id, title);

    public CaseBuilder Send(byte[] bytes, string what, int chop = 0)
    {
        _steps.Add(new SendStep(bytes, chop, what));
        return this;
    }

    public CaseBuilder ExpectText(byte[] utf8) => Expect(Opcodes.Text, utf8);

    public CaseBuilder ExpectPong(byte[] payload) => Expect(Opcodes.Pong, payload);

    public CaseBuilder Expect(byte opcode, byte[] payload)
    {
        _steps.Add(new ExpectFrameStep(opcode, payload));
        return this;
    }

    /// <summary>The server must fail the connection with <paramref name="code"/> (RFC 6455 7.1.7).</summary>
    public ConformanceCase ExpectFailure(ushort code)
    {
        _steps.Add(new ExpectCloseStep(code, AnswerIt: true));
        return Build();
    }

    /// <summary>The client sent a close itself: the server answers with <paramref name="code"/> and ends TCP.</summary>
    public ConformanceCase ExpectCloseReply(ushort? code)
    {
        _steps.Add(new ExpectCloseStep(code, AnswerIt: false));
        return Build();
    }

    /// <summary>The connection is still healthy: a normal close, echoed, then the end of TCP.</summary>
    public ConformanceCase CloseNormally() =>
        Send(ClientFrame.Close(1000), "close 1000").ExpectCloseReply(1000);

    private ConformanceCase Build() => new(_id, _title, [.. _steps]);
}
