using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>
/// Writes raw bytes (one or more frames, or part of one). <see cref="Chop"/> &gt; 0 writes them in pieces of that
/// size (Autobahn's "chopsize"), so the server meets headers and payloads split across reads.
/// </summary>
internal sealed record SendStep(byte[] Bytes, int Chop, string What) : CaseStep
{
    public override Task RunAsync(RawWebSocketClient client) => client.SendRawAsync(Bytes, Chop);

    public override string ToString() => Chop > 0 ? $"send {What} in {Chop}-byte writes" : $"send {What}";
}
