using NUnit.Framework;
using ProcessHub.Outbound;
using ProcessHub.Server;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// Issue 15: the frames queued while a connection opens (its <c>process_list</c>, or the close of a refused token) are
/// sent on the connection's own thread right after, not through a flusher: a reconnect storm saves a thread-pool hop
/// per connection. With a scheduler that never runs, they must still arrive; later frames wait for the scheduler.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class FirstFrameInlineTests
{
    [Test]
    public async Task The_process_list_goes_out_without_the_flush_scheduler()
    {
        var scheduler = new NeverScheduler();
        await using var host = HubTestHost.Start(server: new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero, FlushScheduler = scheduler });

        var (client, list) = await host.OpenTabWithTokenAsync(host.Token("alice"));
        await using (client)
        {
            Assert.That(list.Type, Is.EqualTo("process_list"));
            Assert.That(scheduler.Scheduled, Is.Zero, "the list was sent on the opening thread");

            // What comes later is the scheduler's (here: never sent), as before. The client can read the list before
            // the opening thread's drain has looked at the queue once more and let go of it; a frame queued in that
            // window rides the same drain, rightly. So wait until the connection's queue is idle (nothing queued,
            // no drain running), which is when the next frame must go to the scheduler.
            var connection = host.App.Server.WebSocketConnections.Single();
            await Eventually.HoldsAsync(() => connection.IsIdle, "the opening drain let go of the queue");
            host.App.Producer.Start("export", "alice", total: 1);
            await Eventually.HoldsAsync(() => scheduler.Scheduled == 1, "the started event was handed to the scheduler");
        }
    }

    [Test]
    public async Task The_close_for_a_bad_token_goes_out_without_the_flush_scheduler()
    {
        var scheduler = new NeverScheduler();
        await using var host = HubTestHost.Start(server: new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero, FlushScheduler = scheduler });

        await using var client = await host.ConnectAsync(queryToken: "not-a-token");
        var close = await client.ReceiveFrameAsync();

        Assert.That(close.CloseCode, Is.EqualTo((ushort)4401), close.ToString());
        Assert.That(scheduler.Scheduled, Is.Zero);
    }

    /// <summary>Counts the drains it is asked for and runs none.</summary>
    private sealed class NeverScheduler : FlushScheduler
    {
        private int _scheduled;

        public int Scheduled => Volatile.Read(ref _scheduled);

        internal override void Schedule(OutboundConnection connection) => Interlocked.Increment(ref _scheduled);
    }
}
