using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Outbound;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// docs/protocol.md section 5, slow consumers: a connection that stops reading does not slow anyone else down, gets the
/// newest progress and every essential event when it reads again, and is closed with 4429 (its memory released)
/// if it does not drain within the stall limit.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SlowConsumerTests
{
    private const int Events = 10_000;

    // ~1 KiB per event: 10,000 of them (10 MiB) are more than the kernel can buffer for a client that does not read
    // (its receive buffer is shrunk, the server's send buffer grows to 4 MiB at most), so the hub must coalesce.
    private static readonly string Detail = new('s', 1000);

    // Batches small enough that a client reading them never has a socket send blocked or 64 KiB queued, which is
    // when the outbound queue starts to coalesce: the fast client is never backed up.
    private const int Batch = 10;

    // The stall limit of the stall tests, on the connections' fake clock; the sweep runs every 250 ms of it.
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SweepStep = TimeSpan.FromMilliseconds(250);

    [Test]
    public async Task A_client_that_stops_reading_gets_the_newest_progress_and_every_essential_event_when_it_reads_again()
    {
        await using var host = HubTestHost.Start(server: new ProcessHub.Server.ServerOptions { StallLimit = TimeSpan.FromMinutes(10) });
        var (slow, _) = await host.OpenTabWithListAsync("alice", receiveBufferSize: 4096);
        await using var ownedSlow = slow;
        await using var fast = await host.OpenTabAsync("alice");
        var slowConnection = host.App.Sessions.ForUser("alice").First().Connection;

        var main = host.App.Producer.Start("benchmark", "alice", total: Events);
        var failing = host.App.Producer.Start("import", "alice", total: Events);
        // seq -> type, per process, as published: the reference the slow client's stream is checked against.
        var published = new Dictionary<string, List<string>>
        {
            [main.ProcessId] = ["process_started"],
            [failing.ProcessId] = ["process_started"],
        };
        await fast.ReceiveUntilAsync(m => m.ProcessId == failing.ProcessId);
        await slow.ReceiveUntilAsync(m => m.ProcessId == failing.ProcessId);
        // From here on the slow client reads nothing until every event is published.

        ProcessHandle? late = null;
        var fastSeqs = new List<long>();
        for (int done = 0; done < Events;)
        {
            int expectedFast = 0;
            for (int i = 0; i < Batch; i++, done++)
            {
                main.ReportProgress(done + 1, Events, "GPT-4o", Detail);
                published[main.ProcessId].Add("process_progress");
                expectedFast++;
                if (done % 100 == 0 && !failing.IsEnded)
                {
                    failing.ReportProgress(done, Events);
                    published[failing.ProcessId].Add("process_progress");
                    expectedFast++;
                }
            }
            if (done == Events / 2)
            {
                failing.Fail("disk full");
                published[failing.ProcessId].Add("process_failed");
                late = host.App.Producer.Start("report", "alice", total: 1);
                published[late.ProcessId] = ["process_started"];
                expectedFast += 2;
            }
            // The fast client catches up before the next batch: it is never the one backed up.
            for (int i = 0; i < expectedFast; i++)
            {
                var message = await fast.ReceiveAsync();
                if (message.ProcessId == main.ProcessId)
                {
                    fastSeqs.Add(message.Seq);
                }
            }
        }
        main.Complete(new { score = 1 });
        published[main.ProcessId].Add("process_completed");
        late!.Cancel("alice");
        published[late.ProcessId].Add("process_cancelled");
        fastSeqs.Add((await fast.ReceiveUntilAsync(m => m.ProcessId == main.ProcessId)).Seq);

        Assert.That(fastSeqs, Is.EqualTo(Enumerable.Range(2, Events + 1).Select(i => (long)i)), "the fast client got every event");
        Assert.That(((ProcessHub.Outbound.OutboundConnection)slowConnection).CoalescedCount, Is.GreaterThan(0), "the slow client really fell behind");

        // The slow client reads again, within the stall limit.
        var slowEvents = new List<HubMessage>();
        var terminals = new HashSet<string>();
        while (terminals.Count < 3)
        {
            var message = await slow.ReceiveAsync();
            Assert.That(message.IsProcessEvent, Is.True, $"unexpected {message.Type}");
            slowEvents.Add(message);
            if (message.IsTerminal)
            {
                terminals.Add(message.ProcessId!);
            }
        }
        TestContext.Out.WriteLine($"slow client: {slowEvents.Count} events, {((ProcessHub.Outbound.OutboundConnection)slowConnection).CoalescedCount} coalesced");
        foreach (var (processId, types) in published)
        {
            var seqs = slowEvents.Where(m => m.ProcessId == processId).Select(m => m.Seq).ToList();
            var all = processId == main.ProcessId || processId == failing.ProcessId ? seqs.Prepend(1).ToList() : seqs;
            Assert.That(all, Is.Ordered.Ascending.And.Unique, "seq order per process");
            for (int seq = 1; seq <= types.Count; seq++)
            {
                if (types[seq - 1] != "process_progress")
                {
                    Assert.That(all, Does.Contain((long)seq), $"{types[seq - 1]} (seq {seq}) of {processId} is never dropped");
                }
            }
            int newestProgress = types.LastIndexOf("process_progress") + 1;
            if (newestProgress > 0)
            {
                Assert.That(all, Does.Contain((long)newestProgress), "the newest progress survives coalescing");
            }
            var received = slowEvents.Where(m => m.ProcessId == processId).ToList();
            Assert.That(received.Select(m => m.Type), Is.EqualTo(received.Select(m => types[(int)m.Seq - 1])), "each seq is the event published with it");
        }
        var newest = slowEvents.Last(m => m.ProcessId == main.ProcessId && m.Type == "process_progress");
        Assert.That(newest.Get("progress").GetProperty("current").GetInt32(), Is.EqualTo(Events));
        Assert.That(await HubTestHost.DrainWithPingAsync(slow), Is.Empty, "the slow client is caught up and still connected");
    }

    [Test]
    public async Task A_client_that_never_reads_again_is_closed_with_4429_and_its_memory_released()
    {
        await using var host = HubTestHost.Start(server: new ProcessHub.Server.ServerOptions { StallLimit = StallLimit }, connectionTime: new FakeTimeProvider(DateTimeOffset.UtcNow));
        await using var bystander = await host.OpenTabAsync("bob");
        var (stalled, _) = await host.OpenTabWithListAsync("alice", receiveBufferSize: 4096);
        await using var ownedStalled = stalled;
        var connection = host.App.Sessions.ForUser("alice").First().Connection;
        var run = host.App.Producer.Start("benchmark", "alice", total: 1);
        await stalled.ReceiveUntilAsync("process_started");

        await PublishUntilClosedAsync(host, run, connection);

        Assert.That(connection.CloseStatus, Is.EqualTo(CloseCode.SlowConsumer));
        Assert.That(connection.QueuedBytes, Is.LessThanOrEqualTo(2 + 125), "what was queued for it is dropped at once: only our close frame waits");
        // The close frame cannot get out either: a second stall limit on the connections' clock, then the socket is dropped.
        await Eventually.HoldsAsync(host.ConnectionTime!, () => host.App.SessionCount == 1, "the stalled connection's session going away", SweepStep);
        Assert.That(connection.QueuedBytes, Is.Zero);
        Assert.That(host.App.Sessions.ForUser("alice"), Is.Empty, "it no longer receives fan-out");
        Assert.That(await HubTestHost.DrainWithPingAsync(bystander), Is.Empty, "another connection is unaffected");
    }

    [Test]
    public async Task A_client_whose_essential_backlog_passes_the_outbound_byte_limit_is_closed_with_4429()
    {
        // process_started events are never coalesced, so a client that reads none of them fills its queue; past
        // the byte limit the hub closes it at once, without waiting for the stall limit. The per-owner limit is
        // lifted: the kernel's send buffer may absorb a few megabytes first, more than 1,000 starts (seen once).
        await using var host = HubTestHost.Start(
            new HubOptions { HistoryLimit = 1, MaxProcessesPerUser = 200_000 },
            new ProcessHub.Server.ServerOptions { OutboundByteLimit = 64 * 1024, StallLimit = TimeSpan.FromMinutes(10) });
        var (stalled, _) = await host.OpenTabWithListAsync("alice", receiveBufferSize: 4096);
        await using var ownedStalled = stalled;
        var connection = host.App.Sessions.ForUser("alice").First().Connection;

        int started = 0;
        while (!connection.IsClosing)
        {
            Assert.That(started, Is.LessThan(200_000), "the backlog never reached the byte limit");
            for (int i = 0; i < 100; i++, started++)
            {
                host.App.Producer.Start("benchmark", "alice", parameters: new { padding = Detail });
            }
            await Task.Yield();
        }

        Assert.That(connection.CloseStatus, Is.EqualTo(CloseCode.SlowConsumer));
        var before = new List<HubMessage>();
        Assert.That(await stalled.ReceiveCloseAsync(before), Is.EqualTo((4429, "slow consumer")));
        Assert.That(before, Has.Count.LessThan(started), "what was queued past the socket was dropped, not sent");
        await Eventually.HoldsAsync(() => host.App.SessionCount == 0, "the closed connection's session going away");
        Assert.That(connection.QueuedBytes, Is.Zero);
    }

    [Test]
    public async Task A_stalled_client_that_reads_late_sees_4429_slow_consumer()
    {
        // The client starts reading as soon as the hub has decided; the hub keeps the close for it for another stall
        // limit before dropping the socket, ample time to start reading.
        await using var host = HubTestHost.Start(server: new ProcessHub.Server.ServerOptions { StallLimit = StallLimit }, connectionTime: new FakeTimeProvider(DateTimeOffset.UtcNow));
        var (stalled, _) = await host.OpenTabWithListAsync("alice", receiveBufferSize: 4096);
        await using var ownedStalled = stalled;
        var connection = host.App.Sessions.ForUser("alice").First().Connection;
        var run = host.App.Producer.Start("benchmark", "alice", total: 1);

        // From here the connections' clock stands still, so the close waits for the client as long as it takes to read.
        await PublishUntilClosedAsync(host, run, connection);

        var before = new List<HubMessage>();
        var (status, description) = await stalled.ReceiveCloseAsync(before);
        Assert.That((status, description), Is.EqualTo((4429, "slow consumer")));
        Assert.That(before.Select(m => m.Seq), Is.Ordered.Ascending.And.Unique);
        await Eventually.HoldsAsync(() => host.App.SessionCount == 0, "the closed connection's session going away");
    }

    /// <summary>
    /// Keeps publishing, and moving the connections' clock a sweep at a time, until the hub gives up on the client: its
    /// socket fills, the queue stops draining, and the sweeper closes it once it has not drained for the stall
    /// limit. The loop ends on the hub's decision; the real-time bound only fails a hub that never decides.
    /// </summary>
    private static async Task PublishUntilClosedAsync(HubTestHost host, ProcessHandle run, IOutboundConnection connection)
    {
        int step = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!connection.IsClosing)
        {
            Assert.That(watch.Elapsed, Is.LessThan(TestTimeouts.Receive), "the stalled client was never closed");
            for (int i = 0; i < 100; i++)
            {
                run.ReportProgress(++step, int.MaxValue, "GPT-4o", Detail);
            }
            host.ConnectionTime!.Advance(SweepStep);
            await Task.Delay(5); // let the sockets move
        }
    }
}
