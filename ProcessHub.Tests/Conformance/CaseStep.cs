using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Conformance;

/// <summary>One thing a conformance case does on its connection: send bytes, or expect what the server sends.</summary>
internal abstract record CaseStep
{
    public abstract Task RunAsync(RawWebSocketClient client);
}
