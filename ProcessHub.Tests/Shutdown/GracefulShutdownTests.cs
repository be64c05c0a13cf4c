using System.Net;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Shutdown;

/// <summary>
/// docs/protocol.md section 5 with the real binary: on SIGTERM (and SIGINT, Ctrl+C) the server stops accepting, closes
/// every WebSocket with 1001, and exits 0 once its connections are gone. The process is started exactly as
/// `./run.sh` does it, on a port the kernel picks, and found through the line it prints.
/// </summary>
[TestFixture]
[Category("process")]
internal sealed class GracefulShutdownTests
{
    private const int Clients = 100;
    private const string ListeningPrefix = "ProcessHub listening on http://";

    [TestCase(PosixSignals.SigTerm, 5, TestName = "SIGTERM closes 100 clients with 1001 and exits 0")]
    [TestCase(PosixSignals.SigInt, 5, TestName = "SIGINT closes 100 clients with 1001 and exits 0")]
    // No wait for the close handshakes, but the 1001 frames still go out before the sockets (until 2026-12-03 one tab in
    // three or so got 1006, with the log saying 1001).
    [TestCase(PosixSignals.SigTerm, 0, TestName = "SIGTERM with --drain-timeout 0 closes 100 clients with 1001 and exits 0")]
    public async Task Signal_closes_every_client_with_1001_and_exits_0(int signal, int drainSeconds)
    {
        Assert.That(RepositoryPaths.ServerDll, Does.Exist, "the ProcessHub build output is copied next to the tests");
        // Through env(1), which resets SIGINT to its default before it execs the hub (same pid): a test run started in
        // the background by a script inherits SIGINT as ignored, an ignored signal stays ignored across exec, and the
        // runtime then leaves it so (as nohup expects), which would make this test about how it was started.
        await using var server = ChildProcess.Start("/usr/bin/env",
            ["--default-signal=INT", ChildProcess.DotnetHost, RepositoryPaths.ServerDll, "--port", "0", "--ping-interval", "0", "--store", "memory",
            // The clients send no token: without a long sign-in deadline, a slow opening of all of them could see the
            // first ones closed with 4401 before the signal.
            "--auth-timeout", "3600", "--drain-timeout", drainSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var line = await server.WaitForLineAsync(l => l.StartsWith(ListeningPrefix, StringComparison.Ordinal), TestTimeouts.Process);
        var endPoint = IPEndPoint.Parse(line[ListeningPrefix.Length..].Split(' ')[0]);

        var clients = new List<RawWebSocketClient>();
        try
        {
            for (int i = 0; i < Clients; i++)
            {
                clients.Add(await RawWebSocketClient.OpenAsync(endPoint));
            }
            // A ping answered proves each connection's receive loop runs, so the shutdown cannot miss it.
            await Task.WhenAll(clients.Select(ExpectPongAsync));

            PosixSignals.Send(server.Id, signal);

            var closeCodes = await Task.WhenAll(clients.Select(ReceiveCloseAndFinishAsync));
            var exitCode = await server.WaitForExitAsync(TestTimeouts.Process);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(closeCodes, Is.All.EqualTo((ushort?)CloseCodes.GoingAway), "every client gets 1001");
                Assert.That(exitCode, Is.Zero, server.Output);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static async Task ExpectPongAsync(RawWebSocketClient client)
    {
        await client.SendRawAsync(ClientFrame.Ping("ready"u8));
        var pong = await client.ReceiveFrameAsync();
        if (pong.Opcode != Opcodes.Pong)
        {
            throw new InvalidDataException($"expected a pong, got {pong}");
        }
    }

    /// <summary>Reads the server's close, answers it like a browser would, and waits for the end of TCP.</summary>
    private static async Task<ushort?> ReceiveCloseAndFinishAsync(RawWebSocketClient client)
    {
        var close = await client.ReceiveFrameAsync();
        if (close.Opcode != Opcodes.Close)
        {
            throw new InvalidDataException($"expected a close frame, got {close}");
        }
        await client.SendRawAsync(ClientFrame.Close(close.CloseCode));
        await client.ExpectClosedAsync();
        return close.CloseCode;
    }
}
