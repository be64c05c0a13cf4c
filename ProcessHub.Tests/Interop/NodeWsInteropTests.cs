using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Interop;

/// <summary>
/// Node's ws package, the most used JavaScript WebSocket implementation, against the engine: node/echo-client.mjs
/// sends 1,000 messages, verifies every echo byte for byte, checks that the permessage-deflate it offers was
/// declined, and closes with 1000. `./run.sh test` installs ws (npm ci in ProcessHub.Tests/node); without Node or ws
/// the test is skipped on a developer's machine and fails on CI (<see cref="RequiredTools"/>).
/// </summary>
[TestFixture]
[Category("process")]
internal sealed class NodeWsInteropTests
{
    [Test]
    public async Task Thousand_messages_echo_intact_and_the_close_is_clean()
    {
        string node = RequiredTools.NodeWithWs();
        var clients = RepositoryPaths.NodeClients;
        await using var server = TestServer.Start();

        await using var client = ChildProcess.Start(node, [Path.Combine(clients, "echo-client.mjs"), server.WebSocketUri.ToString(), InteropMessages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)], clients);
        int exitCode = await client.WaitForExitAsync(TestTimeouts.Process);

        Assert.That(exitCode, Is.Zero, client.Output);
        Assert.That(client.Output, Does.Contain($"{{\"messages\":{InteropMessages.Count},").And.Contain("\"closeCode\":1000}"), client.Output);
        using var timeout = new CancellationTokenSource(TestTimeouts.Receive);
        var closed = await server.Handler.Closed.ReadAsync(timeout.Token);
        Assert.That(closed.CloseStatus, Is.EqualTo(CloseCodes.Normal), "the server recorded a normal close");
    }
}
