using NUnit.Framework;
using ProcessHub.Hub;
using ProcessHub.Hub.Messages;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, item 1: a <c>process_list</c> larger than the outbound byte limit used to close every new connection of
/// its user (and of every admin) with 4429 before it was sent, and clients that follow the protocol reconnected into
/// the same close for ever. A list is now never held against the byte limit (docs/protocol.md section 5.5); a normal
/// user's list stays whole, an admin's is a bounded view (section 3.4).
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class ProcessListLimitTests
{
    // Just under the 4 KiB progress limit, as in the probe: 300 of them make a list of about 1.2 MB.
    private static readonly string Detail = new('d', 3_900);

    [Test]
    public async Task A_list_larger_than_the_outbound_limit_reaches_a_new_tab_whole_and_the_tab_stays_open()
    {
        await using var host = HubTestHost.Start();
        var runs = StartRunning(host, "alice", 300);

        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var ownedTab = tab;

        Assert.That(list.Raw.Length, Is.GreaterThan(1024 * 1024), "the list is over the default outbound limit of 1 MiB");
        Assert.That(list.Get("processes").GetArrayLength(), Is.EqualTo(300), "a normal user's list is complete");
        Assert.That(list.Has("truncated"), Is.False);
        runs[^1].ReportProgress(2, 10, "GPT-4o", "after the list");
        var live = await tab.ReceiveAsync();
        Assert.That((live.Type, live.ProcessId, live.Seq), Is.EqualTo(("process_progress", runs[^1].ProcessId, 3L)));
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty, "still connected");
    }

    [Test]
    public async Task An_admin_gets_a_bounded_view_running_processes_first_and_the_total()
    {
        await using var host = HubTestHost.Start();
        var ended = StartRunning(host, "bob", 150);
        foreach (var run in ended)
        {
            run.Complete(new { ok = true });
        }
        var running = StartRunning(host, "carol", 100);
        var newestEnded = ended[^1].ProcessId;

        var (admin, list) = await host.OpenTabWithListAsync("root", admin: true);
        await using var ownedAdmin = admin;

        var listed = list.Get("processes").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(list.Get("truncated").GetBoolean(), Is.True);
            Assert.That(list.Get("total").GetInt32(), Is.EqualTo(250));
            Assert.That(listed.Count, Is.LessThan(250).And.GreaterThan(100), "all 100 running (about 420 KB) and some ended");
            Assert.That(list.Raw.Length, Is.LessThan(HubMessageWriter.AdminListBudgetBytes + HubMessageWriter.ListDetailBudgetBytes), "the view is bounded");
            Assert.That(listed.Select(p => p.GetProperty("process_id").GetString()), Is.SupersetOf(running.Select(r => r.ProcessId)), "every running process is in the view");
            Assert.That(listed.Select(p => p.GetProperty("process_id").GetString()), Does.Contain(newestEnded), "then the most recently ended");
            Assert.That(listed.Select(p => p.GetProperty("started_at").GetString()), Is.Ordered, "still oldest first");
        });

        // The admin still follows everything live, listed or not.
        running[0].ReportProgress(5, 10);
        var live = await admin.ReceiveAsync();
        Assert.That((live.Type, live.ProcessId), Is.EqualTo(("process_progress", running[0].ProcessId)));

        // One owner's whole list is there for an admin over HTTP; a normal user's own list is never cut.
        var bobList = await RawHttpClient.GetAsync(host.App.LocalEndPoint, "/api/processes?owner=bob", host.Token("root", admin: true));
        Assert.That(bobList.Status, Is.EqualTo(200), bobList.ToString());
        Assert.That(bobList.Json.GetProperty("processes").GetArrayLength(), Is.EqualTo(150));
        Assert.That(bobList.Json.TryGetProperty("truncated", out _), Is.False);
        var foreign = await RawHttpClient.GetAsync(host.App.LocalEndPoint, "/api/processes?owner=bob", host.Token("carol"));
        Assert.That(foreign.Status, Is.EqualTo(403), foreign.ToString());
        var adminHttp = await RawHttpClient.GetAsync(host.App.LocalEndPoint, "/api/processes", host.Token("root", admin: true));
        Assert.That(adminHttp.Json.GetProperty("truncated").GetBoolean(), Is.True, "GET /api/processes is the same view");
    }

    [Test]
    public async Task A_small_admin_list_is_whole_and_says_nothing_of_truncation()
    {
        await using var host = HubTestHost.Start();
        StartRunning(host, "bob", 3);

        var (admin, list) = await host.OpenTabWithListAsync("root", admin: true);
        await using var ownedAdmin = admin;

        Assert.That(list.Get("processes").GetArrayLength(), Is.EqualTo(3));
        Assert.That(list.Has("truncated") || list.Has("total"), Is.False);
    }

    private static List<ProcessHandle> StartRunning(HubTestHost host, string owner, int count)
    {
        var runs = new List<ProcessHandle>();
        for (int i = 0; i < count; i++)
        {
            var run = host.App.Producer.Start("eval", owner, total: 10);
            run.ReportProgress(1, 10, "GPT-4o", Detail);
            runs.Add(run);
        }
        return runs;
    }
}
