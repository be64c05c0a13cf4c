using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using ProcessHub.Http;
using ProcessHub.Server;
using ProcessHub.Tests.Api;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Http;

/// <summary>
/// A handler that finds its peer gone (a broken pipe while an SSE stream writes, here thrown by a test route) ends
/// the connection quietly: that is a client going away, not a server failure, and must not be logged as one. The
/// soak found it after pipelining made a request's end a task the connection loop awaits later.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class PeerGoneDuringAnswerTests
{
    [Test]
    public async Task A_broken_pipe_in_a_handler_closes_the_connection_without_an_error_line()
    {
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var router = new Router().Map("GET", "/test/gone", async _ =>
        {
            await Task.Yield(); // the peer is found gone later, as a stream's write finds it
            throw new SocketException((int)SocketError.Shutdown);
        });
        await using var server = new ConnectionServer(TestServer.DefaultOptions, new EchoHandler(), router, loggerFactory);
        server.Start();

        await using (var client = await RawHttpClient.ConnectAsync(server.LocalEndPoint))
        {
            await client.SendAsync($"GET /test/gone HTTP/1.1\r\nHost: {client.HostHeader}\r\n\r\n");
            await client.ExpectClosedAsync();
        }
        // The server is done with the connection (and has logged whatever it logs for it) once it no longer counts it.
        await Eventually.HoldsAsync(() => server.OpenConnections == 0, "the server let the connection go");

        Assert.That(logs.Lines.Where(line => line.Contains("failed", StringComparison.Ordinal)), Is.Empty);
    }
}
