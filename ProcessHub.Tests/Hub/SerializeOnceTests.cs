using System.Text;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// Fan-out's serialize-once design as seen from the wire: an event is serialized once and the very same bytes go to every
/// connection (and into the replay history). A clock that moves on every read would make any per-connection
/// serialization show up as differing timestamps.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SerializeOnceTests
{
    [Test]
    public async Task Two_connections_receive_byte_identical_payloads_for_the_same_event()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(7) };
        await using var host = HubTestHost.Start(time: time);
        await using var owner = await host.OpenTabAsync("alice");
        await using var admin = await host.OpenTabAsync("root", admin: true);

        var run = host.App.Producer.Start("benchmark", "alice", total: 3, parameters: new { models = new[] { "GPT-4o", "Claude" } });
        run.ReportProgress(1, 3, "GPT-4o", "Kontext 5K – größer");
        run.ReportProgress(2, 3, "Claude", "Run 2/3");
        run.Complete(new { score = 0.5 });

        var fromOwner = new List<HubMessage>();
        fromOwner.Add(await owner.ReceiveUntilAsync("process_completed", fromOwner));
        var fromAdmin = new List<HubMessage>();
        fromAdmin.Add(await admin.ReceiveUntilAsync("process_completed", fromAdmin));

        Assert.That(fromOwner, Has.Count.EqualTo(4));
        Assert.That(fromAdmin.Select(m => m.Raw), Is.EqualTo(fromOwner.Select(m => m.Raw)), "byte-identical text frames");
        var record = host.App.Registry.FindRecord(run.ProcessId)!;
        lock (record.Gate)
        {
            foreach (var message in fromOwner)
            {
                Assert.That(message.Raw, Is.EqualTo(record.HistoryAt(message.Seq)!.Payload.ToArray()), "the history keeps the frame that was broadcast");
            }
        }
        Assert.That(fromOwner[1].Raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes("Kontext 5K – größer")), Is.GreaterThan(0), "UTF-8 text goes out as it came, unescaped");
    }
}
