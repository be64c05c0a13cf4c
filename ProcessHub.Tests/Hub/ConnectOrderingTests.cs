using NUnit.Framework;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// docs/protocol.md section 2: process_list is always first, even while events are being published as the connection
/// authenticates; events the list already covers are not sent again, and none after it is sent out of order.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class ConnectOrderingTests
{
    [Test]
    public async Task Tabs_opening_during_a_busy_stream_get_process_list_first_and_nothing_it_already_covers()
    {
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 1_000_000);
        using var stop = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            for (int i = 1; i <= 1_000_000 && !stop.IsCancellationRequested; i++)
            {
                run.ReportProgress(i, 1_000_000, "GPT-4o");
                if (i % 64 == 0)
                {
                    await Task.Yield(); // leave the small machine's other core to the tabs
                }
            }
        });

        try
        {
            for (int tab = 0; tab < 30; tab++)
            {
                var (client, list) = await host.OpenTabWithListAsync("alice");
                await using var owned = client;
                long listed = list.Get("processes")[0].GetProperty("seq").GetInt64();
                long last = listed;
                for (int i = 0; i < 20; i++)
                {
                    var message = await client.ReceiveAsync();
                    Assert.That(message.Seq, Is.GreaterThan(last), $"tab {tab}: after a list at seq {listed}, events come in order and only those after it");
                    last = message.Seq;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await producer.WaitAsync(TestTimeouts.Receive);
        }
        Assert.That(run.IsEnded, Is.False, "the stream was still running while the tabs connected");
    }
}
