using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// docs/protocol.md section 4, <c>subscribe</c> and <c>unsubscribe</c>: interest by id and by <c>"*"</c>, the
/// <c>subscribed</c> reply (process, epoch, replayed, recovered), and the replay after <c>since</c>: exactly the events
/// the connection missed, none twice, none lost.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SubscriptionTests
{
    [Test]
    public async Task Unsubscribe_star_stops_all_events_and_subscribe_by_id_brings_back_one_process()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendJsonAsync(new { type = "unsubscribe", process_id = "*", request_id = "u-1" });
        var unsubscribed = await tab.ReceiveAsync();
        Assert.That((unsubscribed.Type, unsubscribed.ProcessId, unsubscribed.String("request_id")), Is.EqualTo(("unsubscribed", "*", "u-1")));

        var wanted = host.App.Producer.Start("benchmark", "alice", total: 9);
        var other = host.App.Producer.Start("benchmark", "alice", total: 9);
        wanted.ReportProgress(1, 9, "GPT-4o");
        other.ReportProgress(1, 9);
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty, "nothing flows after unsubscribe *");

        await tab.SendJsonAsync(new { type = "subscribe", process_id = wanted.ProcessId, request_id = "s-1" });
        var subscribed = await tab.ReceiveAsync();
        Assert.That((subscribed.Type, subscribed.ProcessId, subscribed.String("request_id")), Is.EqualTo(("subscribed", wanted.ProcessId, "s-1")));
        Assert.That(subscribed.String("epoch"), Is.EqualTo(host.Epoch));
        Assert.That(subscribed.Get("replayed").GetInt32(), Is.Zero, "no since, no replay");
        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.True);
        var process = subscribed.Get("process");
        Assert.That(process.GetProperty("process_id").GetString(), Is.EqualTo(wanted.ProcessId));
        Assert.That(process.GetProperty("status").GetString(), Is.EqualTo("running"));
        Assert.That(process.GetProperty("seq").GetInt64(), Is.EqualTo(2));
        Assert.That(process.GetProperty("progress").GetRawText(), Is.EqualTo("""{"current":1,"total":9,"model":"GPT-4o"}"""));

        other.ReportProgress(2, 9);
        wanted.ReportProgress(2, 9);
        var next = await tab.ReceiveAsync();
        Assert.That((next.ProcessId, next.Seq), Is.EqualTo((wanted.ProcessId, 3L)), "only the subscribed process, from the next seq");
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty);
    }

    [Test]
    public async Task Unsubscribe_by_id_stops_only_that_process()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");
        var quiet = host.App.Producer.Start("benchmark", "alice", total: 9);
        var loud = host.App.Producer.Start("benchmark", "alice", total: 9);
        await tab.ReceiveUntilAsync(m => m.Type == "process_started" && m.ProcessId == loud.ProcessId);

        await tab.SendJsonAsync(new { type = "unsubscribe", process_id = quiet.ProcessId, request_id = "u-2" });
        var unsubscribed = await tab.ReceiveAsync();
        quiet.ReportProgress(1, 9);
        loud.ReportProgress(1, 9);
        quiet.Complete();

        Assert.That((unsubscribed.Type, unsubscribed.ProcessId, unsubscribed.String("request_id")), Is.EqualTo(("unsubscribed", quiet.ProcessId, "u-2")));
        var received = await HubTestHost.DrainWithPingAsync(tab);
        Assert.That(received.Select(m => (m.ProcessId, m.Type)), Is.EqualTo(new[] { (loud.ProcessId, "process_progress") }));
    }

    [Test]
    public async Task Subscribe_star_restores_every_visible_process()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");
        await tab.SendJsonAsync(new { type = "unsubscribe", process_id = "*" });
        await tab.ReceiveUntilAsync("unsubscribed");

        await tab.SendJsonAsync(new { type = "subscribe", process_id = "*", request_id = "s-*" });
        var subscribed = await tab.ReceiveAsync();
        var run = host.App.Producer.Start("benchmark", "alice");

        Assert.That((subscribed.Type, subscribed.ProcessId, subscribed.String("request_id")), Is.EqualTo(("subscribed", "*", "s-*")));
        Assert.That(subscribed.String("epoch"), Is.EqualTo(host.Epoch));
        Assert.That(subscribed.Get("replayed").GetInt32(), Is.Zero);
        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.True);
        Assert.That(subscribed.Has("process"), Is.False, "* is not one process");
        Assert.That((await tab.ReceiveAsync()).ProcessId, Is.EqualTo(run.ProcessId));
    }

    [Test]
    public async Task Subscribe_since_after_a_reconnect_replays_exactly_the_missed_events()
    {
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 20);
        var (first, firstList) = await host.OpenTabWithListAsync("alice");
        for (int i = 1; i <= 3; i++)
        {
            run.ReportProgress(i, 20);
        }
        await first.ReceiveUntilAsync(m => m.Seq == 4);
        await first.CloseAsync();
        await first.DisposeAsync();
        for (int i = 4; i <= 9; i++)
        {
            run.ReportProgress(i, 20, detail: $"missed {i}");
        }

        var (second, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = second;
        Assert.That(list.Get("processes")[0].GetProperty("seq").GetInt64(), Is.EqualTo(10));
        await second.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 4, epoch = firstList.String("epoch"), request_id = "resume" });
        var subscribed = await second.ReceiveAsync();
        var replay = new List<HubMessage>();
        for (int i = 0; i < 6; i++)
        {
            replay.Add(await second.ReceiveAsync());
        }
        run.ReportProgress(10, 20);
        var live = await second.ReceiveAsync();

        Assert.That((subscribed.Type, subscribed.String("request_id")), Is.EqualTo(("subscribed", "resume")));
        Assert.That(subscribed.Get("replayed").GetInt32(), Is.EqualTo(6));
        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.True);
        Assert.That(subscribed.Get("process").GetProperty("seq").GetInt64(), Is.EqualTo(10));
        Assert.That(replay.Select(m => m.Seq), Is.EqualTo(new long[] { 5, 6, 7, 8, 9, 10 }));
        Assert.That(replay.Select(m => m.Get("progress").GetProperty("detail").GetString()), Is.EqualTo(Enumerable.Range(4, 6).Select(i => $"missed {i}")));
        Assert.That(live.Seq, Is.EqualTo(11), "live events follow the replay with no duplicate");
    }

    [Test]
    public async Task A_since_of_the_largest_integer_replays_nothing()
    {
        // since + 1 wrapped to the smallest long: the whole history was replayed, marked recovered.
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);
        run.ReportProgress(1, 5);
        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;

        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = long.MaxValue, epoch = list.String("epoch"), request_id = "far" });
        var subscribed = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "ping", request_id = "after" });
        var next = await tab.ReceiveAsync();

        Assert.That((subscribed.Type, subscribed.Get("replayed").GetInt32()), Is.EqualTo(("subscribed", 0)), subscribed.Text);
        Assert.That(next.Type, Is.EqualTo("pong"), "nothing replayed between the reply and the pong");
    }

    [Test]
    public async Task A_replay_larger_than_a_socket_batch_arrives_whole()
    {
        // 600 missed events of ~500 bytes: far more than the outbound queue's batch, so the replay backs the queue
        // up while it is being queued. Every one of them must still arrive: the client was promised recovered=true.
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 600);
        var detail = new string('x', 480);
        for (int i = 1; i <= 600; i++)
        {
            run.ReportProgress(i, 600, "GPT-4o", detail);
        }

        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;
        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 1, epoch = list.String("epoch") });
        var subscribed = await tab.ReceiveAsync();
        var replay = new List<HubMessage>();
        for (int i = 0; i < 600; i++)
        {
            var message = await tab.ReceiveAsync();
            replay.Add(message);
            if (message.Seq == 601)
            {
                break;
            }
        }

        Assert.That(subscribed.Get("replayed").GetInt32(), Is.EqualTo(600));
        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.True);
        Assert.That(replay.Select(m => m.Seq), Is.EqualTo(Enumerable.Range(2, 600).Select(i => (long)i)));
    }

    [Test]
    public async Task A_since_older_than_the_history_is_not_recovered()
    {
        await using var host = HubTestHost.Start(new HubOptions { HistoryLimit = 10 });
        var run = host.App.Producer.Start("benchmark", "alice", total: 30);
        for (int i = 1; i <= 30; i++)
        {
            run.ReportProgress(i, 30);
        }

        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;
        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 5, epoch = list.String("epoch") });
        var subscribed = await tab.ReceiveAsync();
        var replay = new List<HubMessage>();
        for (int i = 0; i < subscribed.Get("replayed").GetInt32(); i++)
        {
            replay.Add(await tab.ReceiveAsync());
        }

        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.False, "events 6..21 are gone: the client must rebuild from the snapshot");
        Assert.That(replay.Select(m => m.Seq), Is.EqualTo(Enumerable.Range(22, 10).Select(i => (long)i)), "what is still kept is replayed");
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty);
    }

    [Test]
    public async Task A_since_from_another_epoch_is_not_recovered_and_replays_nothing()
    {
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);
        for (int i = 1; i <= 5; i++)
        {
            run.ReportProgress(i, 5);
        }
        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;
        Assert.That(list.String("epoch"), Is.Not.EqualTo("0123456789abcdef"));

        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 2, epoch = "0123456789abcdef" });
        var subscribed = await tab.ReceiveAsync();

        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.False);
        Assert.That(subscribed.Get("replayed").GetInt32(), Is.Zero, "seqs of another epoch mean nothing here");
        Assert.That(subscribed.String("epoch"), Is.EqualTo(host.Epoch), "the reply tells the client the current epoch");
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty);
    }

    [Test]
    public async Task An_epoch_of_another_run_without_a_since_is_not_recovered_as_for_star()
    {
        // "My seqs are of epoch X" got recovered: true for an id (and false for "*"): a client trusting the flag kept
        // state of another run. The reply's process is what it rebuilds from.
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);
        run.ReportProgress(1, 5);
        var (tab, _) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;

        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, epoch = "0123456789abcdef", request_id = "id" });
        var byId = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "subscribe", process_id = "*", epoch = "0123456789abcdef", request_id = "star" });
        var star = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, epoch = host.Epoch, request_id = "current" });
        var current = await tab.ReceiveAsync();

        Assert.That((byId.Get("recovered").GetBoolean(), byId.Get("replayed").GetInt32(), byId.String("epoch")), Is.EqualTo((false, 0, host.Epoch)), byId.Text);
        Assert.That(star.Get("recovered").GetBoolean(), Is.False, star.Text);
        Assert.That(current.Get("recovered").GetBoolean(), Is.True, "the current epoch alone changes nothing: " + current.Text);
    }

    [Test]
    public async Task A_since_past_every_seq_the_process_has_had_is_not_recovered()
    {
        // A client ahead of the history (a store restored from a backup without --new-epoch) was told recovered: true
        // and, merging by seq, dropped the next events as seen already. It is told to rebuild from the reply instead.
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);
        run.ReportProgress(1, 5);
        run.ReportProgress(2, 5);
        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;

        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 3, epoch = list.String("epoch"), request_id = "at" });
        var atSeq = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 50, epoch = list.String("epoch"), request_id = "ahead" });
        var ahead = await tab.ReceiveAsync();

        Assert.That((atSeq.Get("recovered").GetBoolean(), atSeq.Get("replayed").GetInt32()), Is.EqualTo((true, 0)), "since at the current seq misses nothing: " + atSeq.Text);
        Assert.That((ahead.Get("recovered").GetBoolean(), ahead.Get("replayed").GetInt32()), Is.EqualTo((false, 0)), ahead.Text);
        Assert.That(ahead.Get("process").GetProperty("seq").GetInt64(), Is.EqualTo(3), "the state to rebuild from");
    }

    [Test]
    public async Task With_a_shared_engine_a_since_past_the_seq_is_a_hub_behind_and_stays_recovered()
    {
        // With Redis a tab may fail over from a hub that was ahead of this one (docs/protocol.md 11.4): the events
        // between come as this hub catches up, and the client rightly drops those it has.
        await using var host = HubTestHost.Start();
        host.App.Registry.MayLagBehindClients = true;
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);
        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;

        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 50, epoch = list.String("epoch"), request_id = "ahead" });
        var ahead = await tab.ReceiveAsync();

        Assert.That((ahead.Get("recovered").GetBoolean(), ahead.Get("replayed").GetInt32()), Is.EqualTo((true, 0)), ahead.Text);
    }

    [Test]
    public async Task A_since_that_misses_nothing_replays_nothing()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);
        run.ReportProgress(1, 5);
        await tab.ReceiveUntilAsync(m => m.Seq == 2);

        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 2, epoch = host.Epoch });
        var subscribed = await tab.ReceiveAsync();
        run.ReportProgress(2, 5);

        Assert.That(subscribed.Get("replayed").GetInt32(), Is.Zero);
        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.True);
        Assert.That((await tab.ReceiveAsync()).Seq, Is.EqualTo(3), "no duplicate of what came live");
    }

    [Test]
    public async Task Subscribe_since_to_a_process_that_ended_meanwhile_replays_through_the_terminal_event()
    {
        await using var host = HubTestHost.Start();
        var (first, firstList) = await host.OpenTabWithListAsync("alice");
        var run = host.App.Producer.Start("benchmark", "alice", total: 3);
        await first.ReceiveUntilAsync("process_started");
        await first.DisposeAsync();
        run.ReportProgress(1, 3);
        run.Fail("model unavailable", "upstream");

        var (second, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = second;
        Assert.That(list.Get("processes")[0].GetProperty("status").GetString(), Is.EqualTo("failed"));
        await second.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 1, epoch = firstList.String("epoch") });
        var subscribed = await second.ReceiveAsync();
        var progress = await second.ReceiveAsync();
        var failed = await second.ReceiveAsync();

        Assert.That((subscribed.Get("replayed").GetInt32(), subscribed.Get("recovered").GetBoolean()), Is.EqualTo((2, true)));
        Assert.That(subscribed.Get("process").GetProperty("status").GetString(), Is.EqualTo("failed"));
        Assert.That((progress.Type, progress.Seq), Is.EqualTo(("process_progress", 2L)));
        Assert.That((failed.Type, failed.Seq), Is.EqualTo(("process_failed", 3L)));
        Assert.That(failed.Get("error").GetProperty("message").GetString(), Is.EqualTo("model unavailable"));
    }

    [Test]
    public async Task Events_missed_while_unsubscribed_from_star_are_replayed_after_subscribing_again()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");
        var run = host.App.Producer.Start("benchmark", "alice", total: 10);
        run.ReportProgress(1, 10);
        await tab.ReceiveUntilAsync(m => m.Seq == 2);

        await tab.SendJsonAsync(new { type = "unsubscribe", process_id = "*" });
        await tab.ReceiveUntilAsync("unsubscribed");
        run.ReportProgress(2, 10);
        run.ReportProgress(3, 10);
        await tab.SendJsonAsync(new { type = "subscribe", process_id = "*" });
        await tab.ReceiveUntilAsync("subscribed");
        run.ReportProgress(4, 10);
        var live = await tab.ReceiveAsync();
        Assert.That(live.Seq, Is.EqualTo(5), "seq 3 and 4 were not sent: the client sees the jump");

        await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, since = 2, epoch = host.Epoch });
        var subscribed = await tab.ReceiveAsync();
        var replay = new List<HubMessage>();
        for (int i = 0; i < subscribed.Get("replayed").GetInt32(); i++)
        {
            replay.Add(await tab.ReceiveAsync());
        }

        Assert.That(subscribed.Get("recovered").GetBoolean(), Is.True);
        Assert.That(replay.Select(m => m.Seq), Is.EqualTo(new long[] { 3, 4 }), "recovered=true promises every event after since");
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty, "and nothing twice");
    }

    [Test]
    public async Task An_admin_may_subscribe_to_any_users_process()
    {
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "bob", total: 5);
        await using var admin = await host.OpenTabAsync("root", admin: true);
        await admin.SendJsonAsync(new { type = "unsubscribe", process_id = "*" });
        await admin.ReceiveUntilAsync("unsubscribed");

        await admin.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId });
        var subscribed = await admin.ReceiveAsync();
        run.ReportProgress(1, 5);

        Assert.That(subscribed.Get("process").GetProperty("owner").GetString(), Is.EqualTo("bob"));
        Assert.That((await admin.ReceiveAsync()).Seq, Is.EqualTo(2));
    }
}
