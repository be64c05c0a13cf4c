using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using NUnit.Framework;
using ProcessHub.Tests.Infrastructure;
using StackExchange.Redis;

namespace ProcessHub.Tests.ScaleOut;

/// <summary>
/// What a hub fetches from the shared log that it must not apply as it is (docs/protocol.md 11.3): an entry it cannot
/// read (a newer version's message) is skipped, once, and the hub goes on; an entry of another epoch means its view
/// is of an epoch Redis has replaced, so it reloads rather than apply it. Each entry is put in the log as the scripts
/// would (INCR of the offset, XADD at that offset), with no PUBLISH, so the hub finds it by the jump of the next
/// event. A real hub binary on a real Redis: on the old code the first wedged its applier for good.
/// </summary>
[TestFixture]
[Category("process")]
[NonParallelizable]
public sealed class LogEntriesAHubCannotApplyTests
{
    private const string Prefix = "processhub:";

    [Test]
    public async Task A_log_entry_the_hub_cannot_read_is_skipped_and_the_next_events_reach_its_tabs()
    {
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, endPoint, token, tab, id) = (setup.Admin, setup.EndPoint, setup.Token, setup.Tab, setup.ProcessId);

        await AppendToLogAsync(admin, _ => "a message in a format from a newer version");
        await ReportAsync(endPoint, token, id, 1);
        var progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Seq, Is.EqualTo(2), progress.Text);
        await ReportAsync(endPoint, token, id, 2);
        progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Seq, Is.EqualTo(3), progress.Text);
    }

    [TestCase("cut short", """{"type":"process_progress","seq":2,""")]
    [TestCase("not JSON", "{not json at all}")]
    [TestCase("an owner that is a number", """{"type":"process_progress","seq":2,"owner":7,"progress":{"current":1,"total":10}}""")]
    public async Task A_log_entry_of_this_epoch_whose_event_cannot_be_read_is_skipped_and_the_next_events_reach_its_tabs(string what, string json)
    {
        // The header is right (this epoch, the process, its next seq), the event is not: reading it threw, the applier
        // stopped at it, and met it again at every later event, on every hub (a review of the engine, 2026-12-03).
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, endPoint, token, tab, id) = (setup.Admin, setup.EndPoint, setup.Token, setup.Tab, setup.ProcessId);
        string epoch = (string)(await admin.GetDatabase().StringGetAsync(Prefix + "epoch"))!;

        await AppendToLogAsync(admin, offset => $"{epoch} {offset} {id} 2 1 {DateTime.UtcNow.Ticks} 0 -\n{json}");
        await ReportAsync(endPoint, token, id, 1);
        var progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Seq, Is.EqualTo(2), $"{what}: {progress.Text}");
        await ReportAsync(endPoint, token, id, 2);
        progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Seq, Is.EqualTo(3), $"{what}: {progress.Text}");
    }

    [TestCase("an offset below 1", "-5", "2")]
    [TestCase("an offset of 0", "0", "2")]
    [TestCase("a seq below 1", "{offset}", "-1")]
    public async Task A_log_entry_whose_header_has_a_number_out_of_range_is_skipped_and_the_next_events_reach_its_tabs(string what, string offsetField, string seqField)
    {
        // An offset below 1 indexed the applier's window of recent offsets from the wrong end (IndexOutOfRange).
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, endPoint, token, tab, id) = (setup.Admin, setup.EndPoint, setup.Token, setup.Tab, setup.ProcessId);
        string epoch = (string)(await admin.GetDatabase().StringGetAsync(Prefix + "epoch"))!;

        // In the log, and published as the scripts publish each event: the subscription's path and the log's both see it.
        var db = admin.GetDatabase();
        long at = await db.StringIncrementAsync(Prefix + "offset");
        string header = $"{epoch} {offsetField.Replace("{offset}", at.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)} {id} {seqField} 1 {DateTime.UtcNow.Ticks} 0 -";
        string message = header + "\n" + $$$"""{"type":"process_progress","process_id":"{{{id}}}","seq":2,"progress":{"current":99,"total":10}}""";
        await db.StreamAddAsync(Prefix + "log", "m", message, messageId: at.ToString(CultureInfo.InvariantCulture) + "-0");
        await admin.GetSubscriber().PublishAsync(RedisChannel.Literal(Prefix + "events"), message);
        await ReportAsync(endPoint, token, id, 1);
        var progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Text, Does.Contain("\"current\":1,"), $"{what}: the report, not the entry: {progress.Text}");
        Assert.That(progress.Seq, Is.EqualTo(2), $"{what}: {progress.Text}");
        await ReportAsync(endPoint, token, id, 2);
        progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Seq, Is.EqualTo(3), $"{what}: {progress.Text}");
        // Skipped as an entry it cannot read, not failed at (an error with a stack trace, each time it met it).
        await Eventually.HoldsAsync(() => setup.Hub.Stdout.Contains($"skipped the log entry at offset {at}: it is not an event this hub can read", StringComparison.Ordinal), $"{what}: the log's skip logged");
        await Eventually.HoldsAsync(() => setup.Hub.Stdout.Contains("skipped a malformed event message", StringComparison.Ordinal), $"{what}: the subscription's skip logged");
        Assert.That(setup.Hub.Stdout, Does.Not.Contain("applying events failed"), what);
    }

    [Test]
    public async Task A_log_entry_whose_event_is_not_UTF_8_is_skipped_and_never_reaches_a_tab()
    {
        // Sent as it was, a text frame that is not UTF-8: every tab of the owner must fail its connection (RFC 6455
        // 8.1, close 1007), and would meet it again on every replay.
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, endPoint, token, tab, id) = (setup.Admin, setup.EndPoint, setup.Token, setup.Tab, setup.ProcessId);
        string epoch = (string)(await admin.GetDatabase().StringGetAsync(Prefix + "epoch"))!;
        var db = admin.GetDatabase();
        long offset = await db.StringIncrementAsync(Prefix + "offset");
        byte[] entry = [
            .. System.Text.Encoding.UTF8.GetBytes($"{epoch} {offset} {id} 2 1 {DateTime.UtcNow.Ticks} 0 -\n"),
            .. System.Text.Encoding.UTF8.GetBytes("{\"type\":\"process_progress\",\"process_id\":\"" + id + "\",\"seq\":2,\"progress\":{\"current\":99,\"total\":10,\"detail\":\""),
            0xFF, 0xFE,
            .. "\"}}"u8.ToArray(),
        ];
        await db.StreamAddAsync(Prefix + "log", "m", entry, messageId: offset.ToString(CultureInfo.InvariantCulture) + "-0");

        await ReportAsync(endPoint, token, id, 1);
        var progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Text, Does.Contain("\"current\":1,"), "the report, not the entry: " + progress.Text);
        Assert.That(progress.Seq, Is.EqualTo(2), progress.Text);
    }

    [TestCase("many", "its seq is not a number from 1 up", null)]
    [TestCase(null, "it has no seq", null)]
    [TestCase("1", "its progress is not UTF-8 JSON that clients can read", "{\"current\":1,")]
    [TestCase("1", "its progress is not UTF-8 JSON that clients can read", "{\"detail\":\"cut \\ud83d\"}")]
    public async Task A_hub_joining_beside_a_process_whose_hash_it_cannot_read_leaves_that_one_out_and_starts(string? seq, string why, string? progress)
    {
        // A seq that is not a number, as another program under the prefix might write: the joining hub threw at its
        // load and never started (every reload of a running hub failed the same way). One without a seq was taken for
        // gone, and dropped from the index, where a hub that can read it would look for it.
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, token, id) = (setup.Admin, setup.Token, setup.ProcessId);
        var db = admin.GetDatabase();
        // Its progress goes into every process_list as it is: a cut one, or one with a lone surrogate, failed each tab.
        HashEntry[] fields = [new("type", "eval"), new("owner", "alice"), new("status", "running"), new("started_at", DateTime.UtcNow.Ticks), new("last_changed_at", DateTime.UtcNow.Ticks)];
        fields = seq is null ? fields : [.. fields, new("seq", seq)];
        await db.HashSetAsync(Prefix + "p:unreadable", progress is null ? fields : [.. fields, new("progress", progress)]);
        await db.SortedSetAddAsync(Prefix + "index", "unreadable", 1);

        var (second, endPoint) = await HubCluster.StartBinaryAsync(setup.Redis);
        await using (second)
        {
            var known = await RawHttpClient.GetAsync(endPoint, $"/api/processes/{id}", token);
            Assert.That(known.Status, Is.EqualTo(200), known.ToString());
            // Said before the hub listened, so already in its output.
            await Eventually.HoldsAsync(() => second.Stdout.Contains($"left out process unreadable: its hash in Redis cannot be read by this hub ({why}", StringComparison.Ordinal), "the warning");

            // Its events keep coming: skipped without reading its hash again, and without a warning each (there was one
            // per event, and a read of the hash and its whole stream inside the applier).
            string epoch = (string)(await db.StringGetAsync(Prefix + "epoch"))!;
            for (int n = 2; n <= 4; n++)
            {
                int seqOfIt = n;
                await AppendToLogAsync(admin, offset => $"{epoch} {offset} unreadable {seqOfIt} 1 {DateTime.UtcNow.Ticks} 0 -\n"
                    + $$$"""{"type":"process_progress","process_id":"unreadable","seq":{{{seqOfIt}}},"progress":{"current":1,"total":10}}""");
            }
            await using var tab = await HubCluster.OpenTabAsync(endPoint, token);
            await ReportAsync(setup.EndPoint, token, id, 1); // its offset is past the three: the second hub fetches them
            await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
            Assert.That(Regex.Count(second.Stdout, "left out process unreadable"), Is.EqualTo(1), second.Stdout);
        }
        Assert.That(await db.SortedSetScoreAsync(Prefix + "index", "unreadable"), Is.Not.Null, "left in the index for a hub that can read it");
    }

    [Test]
    public async Task A_log_entry_of_another_epoch_is_not_applied_and_the_hub_reloads_and_goes_on()
    {
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, endPoint, token, tab, id) = (setup.Admin, setup.EndPoint, setup.Token, setup.Tab, setup.ProcessId);

        // Progress of the same process at its next seq, as a hub of another epoch would have logged it.
        await AppendToLogAsync(admin, offset =>
            $"another-epoch {offset} {id} 2 1 {DateTime.UtcNow.Ticks} 0 -\n"
            + $$$"""{"type":"process_progress","process_id":"{{{id}}}","seq":2,"progress":{"current":99,"total":10}}""");
        await ReportAsync(endPoint, token, id, 1);
        await ReportAsync(endPoint, token, id, 2);
        var seen = new List<HubMessage>();
        var last = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress" && m.Seq == 3, seen);
        seen.Add(last);
        Assert.That(seen.Where(m => m.Text.Contains("\"current\":99", StringComparison.Ordinal)), Is.Empty, "the other epoch's event reached no tab");
        Assert.That(seen.Any(m => m.Type == "process_list"), Is.True, "the hub reloaded: its tab got a fresh list");
    }

    [Test]
    public async Task An_event_of_a_process_the_hub_cannot_read_restarts_its_history_instead_of_shifting_it()
    {
        // Seq 2 of the process is a newer version's message, in its stream and in the log. Skipped, and seq 3 then
        // published after seq 1, the history counted seqs from the last one and held every frame one seq off: a
        // resume got seq 1's frame as seq 2, marked recovered. Now the history starts over at the gap.
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, endPoint, token, tab, id) = (setup.Admin, setup.EndPoint, setup.Token, setup.Tab, setup.ProcessId);

        var db = admin.GetDatabase();
        long seq = await db.HashIncrementAsync(Prefix + "p:" + id, "seq");
        Assert.That(seq, Is.EqualTo(2));
        await db.StreamAddAsync(Prefix + "e:" + id, "m", "a message in a format from a newer version", messageId: "2-0");
        await AppendToLogAsync(admin, _ => "a message in a format from a newer version");
        await ReportAsync(endPoint, token, id, 3);
        var progress = await tab.ReceiveUntilAsync(m => m.ProcessId == id && m.Type == "process_progress");
        Assert.That(progress.Seq, Is.EqualTo(3), progress.Text);

        // A tab that had seq 1 comes back (the first tab was sent everything live: it has nothing to ask for).
        await using var back = await HubCluster.OpenTabAsync(endPoint, token);
        await back.SendJsonAsync(new { type = "subscribe", process_id = id, since = 1, request_id = "resume" });
        var reply = await back.ReceiveUntilAsync(m => m.Type == "subscribed");

        Assert.That(reply.Get("recovered").GetBoolean(), Is.False, "seq 2 is not there to replay: " + reply.Text);
        for (long replayed = reply.Get("replayed").GetInt64(); replayed > 0; replayed--)
        {
            var frame = await back.ReceiveAsync();
            Assert.That(frame.Seq, Is.GreaterThanOrEqualTo(3), "no frame at a seq it does not carry: " + frame.Text);
        }
    }

    /// <summary>Puts <paramref name="message"/> (given its offset) in the shared log at the next offset, as a script would.</summary>
    [Test]
    public async Task After_a_reload_each_tab_gets_its_own_users_list_and_an_admin_gets_everyones()
    {
        // A reload sends every tab a fresh list, built once per user (and once for all admins) rather than per tab:
        // tabs of one user share it, and no tab may get another user's.
        await using var setup = await OneProcessOnAHub.StartAsync();
        var (admin, endPoint, token, tab, id) = (setup.Admin, setup.EndPoint, setup.Token, setup.Tab, setup.ProcessId);
        string bobToken = HubCluster.Token("bob");
        await using var aliceAgain = await HubCluster.OpenTabAsync(endPoint, token);
        await using var bobTab = await HubCluster.OpenTabAsync(endPoint, bobToken);
        await using var rootTab = await HubCluster.OpenTabAsync(endPoint, HubCluster.Token("root", "admin"));
        await using var secondRootTab = await HubCluster.OpenTabAsync(endPoint, HubCluster.Token("ops", "admin"));
        string bobs = await HubCluster.StartProcessAsync(endPoint, bobToken);
        await bobTab.ReceiveUntilAsync(m => m.ProcessId == bobs && m.Type == "process_started");

        await AppendToLogAsync(admin, offset =>
            $"another-epoch {offset} {id} 2 1 {DateTime.UtcNow.Ticks} 0 -\n"
            + $$$"""{"type":"process_progress","process_id":"{{{id}}}","seq":2,"progress":{"current":99,"total":10}}""");
        await ReportAsync(endPoint, token, id, 1); // its offset is past the entry: the hub reads the log, and reloads

        static async Task<string[]> ListedAsync(RawWebSocketClient tab) =>
            [.. (await tab.ReceiveUntilAsync(m => m.Type == "process_list")).Get("processes").EnumerateArray().Select(p => p.GetProperty("process_id").GetString()!).Order()];
        Assert.That(await ListedAsync(tab), Is.EqualTo(new[] { id }), "alice's first tab");
        Assert.That(await ListedAsync(aliceAgain), Is.EqualTo(new[] { id }), "alice's second tab");
        Assert.That(await ListedAsync(bobTab), Is.EqualTo(new[] { bobs }), "bob's tab");
        Assert.That(await ListedAsync(rootTab), Is.EqualTo(new[] { id, bobs }.Order()), "an admin's tab");
        Assert.That(await ListedAsync(secondRootTab), Is.EqualTo(new[] { id, bobs }.Order()), "another admin's tab");
    }

    private static async Task AppendToLogAsync(ConnectionMultiplexer admin, Func<long, string> message)
    {
        var db = admin.GetDatabase();
        long offset = await db.StringIncrementAsync(Prefix + "offset");
        await db.StreamAddAsync(Prefix + "log", "m", message(offset), messageId: offset.ToString(CultureInfo.InvariantCulture) + "-0");
    }

    private static async Task ReportAsync(IPEndPoint hub, string token, string id, int current)
    {
        var reply = await RawHttpClient.PostAsync(hub, $"/api/processes/{id}/progress", token, $$"""{"current":{{current}},"total":10}""");
        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
    }
}
