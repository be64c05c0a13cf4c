using ProcessHub.Tests.Infrastructure;
using static ProcessHub.Tests.Conformance.CaseBuilder;
using static ProcessHub.Tests.Infrastructure.Bytes;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Autobahn section 5: a message is a text frame with FIN=0, continuations, and a FIN=1 continuation (RFC 6455
/// 5.4). Control frames may come between fragments and are answered at once; control frames themselves are never
/// fragmented; a continuation with no message, or a new message inside one, is a protocol error.
/// </summary>
internal static class FragmentationCases
{
    public static IEnumerable<ConformanceCase> All()
    {
        var fragment1 = "fragment1"u8.ToArray();
        var fragment2 = "fragment2"u8.ToArray();
        var whole = Concat(fragment1, fragment2);
        var ping = "pongme!"u8.ToArray();

        yield return Case("5.1", "ping with FIN=0 (a fragmented control frame) is a protocol error")
            .Send(ClientFrame.Build(Opcodes.Ping, fragment1, fin: false), "ping FIN=0")
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("5.2", "pong with FIN=0 is a protocol error")
            .Send(ClientFrame.Build(Opcodes.Pong, fragment1, fin: false), "pong FIN=0")
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("5.2b", "close with FIN=0 is a protocol error")
            .Send(ClientFrame.Build(Opcodes.Close, ClientFrame.ClosePayload(1000), fin: false), "close FIN=0")
            .ExpectFailure(CloseCodes.ProtocolError);

        var twoFragments = Concat(ClientFrame.Text(fragment1, fin: false), ClientFrame.Continuation(fragment2, fin: true));
        yield return Case("5.3", "text in 2 fragments is echoed whole")
            .Send(twoFragments, "text FIN=0, continuation FIN=1").ExpectText(whole).CloseNormally();
        yield return Case("5.5", "text in 2 fragments in 1-byte writes is echoed whole")
            .Send(twoFragments, "text FIN=0, continuation FIN=1", chop: 1).ExpectText(whole).CloseNormally();

        var withPing = Concat(ClientFrame.Text(fragment1, fin: false), ClientFrame.Ping(ping), ClientFrame.Continuation(fragment2, fin: true));
        yield return Case("5.6", "ping between fragments is answered while the message waits")
            .Send(withPing, "text FIN=0, ping, continuation FIN=1").ExpectPong(ping).ExpectText(whole).CloseNormally();
        yield return Case("5.8", "ping between fragments in 1-byte writes")
            .Send(withPing, "text FIN=0, ping, continuation FIN=1", chop: 1).ExpectPong(ping).ExpectText(whole).CloseNormally();
        yield return Case("5.7", "ping between fragments sent as separate writes")
            .Send(ClientFrame.Text(fragment1, fin: false), "text FIN=0")
            .Send(ClientFrame.Ping(ping), "ping")
            .ExpectPong(ping)
            .Send(ClientFrame.Continuation(fragment2, fin: true), "continuation FIN=1")
            .ExpectText(whole)
            .CloseNormally();
        yield return Case("5.6b", "unsolicited pong between fragments is ignored")
            .Send(Concat(ClientFrame.Text(fragment1, fin: false), ClientFrame.Pong(ping), ClientFrame.Continuation(fragment2, fin: true)), "text FIN=0, pong, continuation FIN=1")
            .ExpectText(whole).CloseNormally();

        var orphanFinal = Concat(ClientFrame.Continuation(fragment1, fin: true), ClientFrame.Text(fragment2));
        yield return Case("5.9", "continuation FIN=1 with no message is a protocol error (the text after it is not echoed)")
            .Send(orphanFinal, "continuation FIN=1, text").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("5.11", "the same in 1-byte writes")
            .Send(orphanFinal, "continuation FIN=1, text", chop: 1).ExpectFailure(CloseCodes.ProtocolError);
        var orphanPartial = Concat(ClientFrame.Continuation(fragment1, fin: false), ClientFrame.Text(fragment2));
        yield return Case("5.12", "continuation FIN=0 with no message is a protocol error")
            .Send(orphanPartial, "continuation FIN=0, text").ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("5.14", "the same in 1-byte writes")
            .Send(orphanPartial, "continuation FIN=0, text", chop: 1).ExpectFailure(CloseCodes.ProtocolError);

        yield return Case("5.15", "a complete fragmented message, then a continuation with no message: echo, then 1002")
            .Send(Concat(twoFragments, ClientFrame.Continuation(fragment1, fin: false), ClientFrame.Continuation(fragment2, fin: true)), "2-fragment text, then 2 continuations")
            .ExpectText(whole)
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("5.18", "a new text frame (FIN=1) instead of a continuation is a protocol error")
            .Send(Concat(ClientFrame.Text(fragment1, fin: false), ClientFrame.Text(fragment2, fin: true)), "text FIN=0, text FIN=1")
            .ExpectFailure(CloseCodes.ProtocolError);
        yield return Case("5.18b", "a new text frame (FIN=0) instead of a continuation is a protocol error")
            .Send(Concat(ClientFrame.Text(fragment1, fin: false), ClientFrame.Text(fragment2, fin: false)), "text FIN=0, text FIN=0")
            .ExpectFailure(CloseCodes.ProtocolError);

        // 5.19/5.20: five fragments with two pings between them; each ping is answered before the message completes.
        var parts = Enumerable.Range(1, 5).Select(i => System.Text.Encoding.UTF8.GetBytes($"fragment{i}")).ToArray();
        var five = Concat(
            ClientFrame.Text(parts[0], fin: false),
            ClientFrame.Continuation(parts[1], fin: false),
            ClientFrame.Ping("pongme 1!"u8),
            ClientFrame.Continuation(parts[2], fin: false),
            ClientFrame.Continuation(parts[3], fin: false),
            ClientFrame.Ping("pongme 2!"u8),
            ClientFrame.Continuation(parts[4], fin: true));
        var fiveWhole = Concat(parts);
        yield return Case("5.19", "5 fragments with 2 pings between them: both pongs, then the whole message")
            .Send(five, "5 fragments, 2 pings")
            .ExpectPong("pongme 1!"u8.ToArray()).ExpectPong("pongme 2!"u8.ToArray()).ExpectText(fiveWhole).CloseNormally();
        yield return Case("5.20", "the same in 1-byte writes")
            .Send(five, "5 fragments, 2 pings", chop: 1)
            .ExpectPong("pongme 1!"u8.ToArray()).ExpectPong("pongme 2!"u8.ToArray()).ExpectText(fiveWhole).CloseNormally();

        // 6.1.2 / 6.1.3: empty fragments are legal and change nothing.
        yield return Case("6.1.2", "three empty fragments are one empty message")
            .Send(Concat(ClientFrame.Text([], fin: false), ClientFrame.Continuation([], fin: false), ClientFrame.Continuation([], fin: true)), "3 empty fragments")
            .ExpectText([]).CloseNormally();
        yield return Case("6.1.3", "empty fragments around a non-empty one")
            .Send(Concat(ClientFrame.Text([], fin: false), ClientFrame.Continuation(fragment1, fin: false), ClientFrame.Continuation([], fin: true)), "empty, 9 B, empty")
            .ExpectText(fragment1).CloseNormally();
    }
}
