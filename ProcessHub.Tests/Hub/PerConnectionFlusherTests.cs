using NUnit.Framework;
using ProcessHub.Outbound;
using ProcessHub.Server;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// The same delivery promises with the other wake-up scheme (<c>--flush-scheduler per-connection</c>): a thread-pool
/// work item per connection with frames, instead of the default shared flushers (one per core).
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class PerConnectionFlusherTests
{
    [Test]
    public async Task Three_tabs_get_every_event_in_order_with_a_work_item_per_connection()
    {
        await using var host = HubTestHost.Start(server: new ServerOptions { Host = "127.0.0.1", Port = 0, PingInterval = TimeSpan.Zero, FlushScheduler = FlushScheduler.PerConnection });
        var tabs = new[] { await host.OpenTabAsync("alice"), await host.OpenTabAsync("alice"), await host.OpenTabAsync("alice") };
        try
        {
            const int Steps = 200;
            var run = host.App.Producer.Start("benchmark", "alice", total: Steps);
            var seen = tabs.Select(_ => new List<long>()).ToArray();
            for (int t = 0; t < tabs.Length; t++)
            {
                seen[t].Add((await tabs[t].ReceiveAsync()).Seq);
            }
            // Lockstep: every tab reads each event before the next is published, so no queue backs up and nothing
            // may be coalesced; every event must arrive, in order, through per-connection work items.
            for (int i = 1; i <= Steps + 1; i++)
            {
                if (i <= Steps)
                {
                    run.ReportProgress(i, Steps, "GPT-4o", $"step {i}");
                }
                else
                {
                    run.Complete(new { ok = true });
                }
                for (int t = 0; t < tabs.Length; t++)
                {
                    seen[t].Add((await tabs[t].ReceiveAsync()).Seq);
                }
            }
            foreach (var seqs in seen)
            {
                Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, Steps + 2).Select(i => (long)i)), "every event, in seq order");
            }
        }
        finally
        {
            foreach (var tab in tabs)
            {
                await tab.DisposeAsync();
            }
        }
    }
}
