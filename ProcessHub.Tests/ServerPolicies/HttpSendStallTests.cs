using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.ServerPolicies;

/// <summary>
/// An HTTP client that asks and never reads the answer: once the kernel's buffers are full the hub's send waits, and
/// it used to wait for ever, holding the connection and the answer. Now a send the peer takes nothing of for the
/// stall limit (docs/protocol.md 1.2) closes the connection. Over a real loopback socket whose receive buffer is small.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class HttpSendStallTests
{
    [Test]
    public async Task A_client_that_never_reads_its_answer_is_let_go_after_the_stall_limit()
    {
        await using var server = StartWithBigAnswer(TimeSpan.FromSeconds(1));
        await using var client = await RawHttpClient.ConnectAsync(server.EndPoint, receiveBufferSize: 4096);
        await client.SendAsync($"GET /test/big HTTP/1.1\r\nHost: {client.HostHeader}\r\n\r\n");
        await Eventually.HoldsAsync(() => server.Server.OpenConnections == 1, "the server serving the connection");

        await Eventually.HoldsAsync(() => server.Server.OpenConnections == 0, "the stalled connection let go", TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task A_client_that_reads_slowly_but_steadily_gets_the_whole_answer_though_it_takes_longer_than_the_limit()
    {
        // The limit is time without progress, not time for the whole answer: a first cut put one timer around the
        // whole send, which cut off a slow client still reading.
        // A 2-s limit, and a read every 100 ms: a noisy machine may hold the reader up a while, not for 2 s per slice.
        await using var server = StartWithBigAnswer(TimeSpan.FromSeconds(2));
        await using var client = await RawHttpClient.ConnectAsync(server.EndPoint, receiveBufferSize: 64 * 1024);
        await client.SendAsync($"GET /test/big HTTP/1.1\r\nHost: {client.HostHeader}\r\nConnection: close\r\n\r\n");

        var head = await client.ReadHeadAsync();
        Assert.That(head.Status, Is.EqualTo(200), head.ToString());
        long received = 0;
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (received < BigAnswerBytes)
        {
            received += (await client.ReadExactlyAsync((int)Math.Min(256 * 1024, BigAnswerBytes - received))).Length;
            await Task.Delay(100); // a slow reader: 256 KiB every 100 ms or so, 6 s or more for the whole answer
        }
        Assert.That(received, Is.EqualTo(BigAnswerBytes), $"after {started.Elapsed.TotalSeconds:0.0} s");
    }

    private const int BigAnswerBytes = 16 * 1024 * 1024;

    /// <summary>A server whose <c>GET /test/big</c> answers 16 MiB, far more than the socket buffers hold.</summary>
    private static TestServer StartWithBigAnswer(TimeSpan stallLimit)
    {
        var big = new byte[BigAnswerBytes];
        return TestServer.Start(
            TestServer.DefaultOptions with { StallLimit = stallLimit },
            router => router.Map("GET", "/test/big", exchange => exchange.RespondAsync(200, "application/octet-stream", big)));
    }
}
