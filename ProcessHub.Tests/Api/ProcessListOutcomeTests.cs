using System.Text.Json;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>
/// <c>process_list</c> and <c>GET /api/processes</c> carry what a tab needs to show an ended process as a live tab
/// did: <c>result</c> or <c>error</c>, <c>cancelled_by</c>, <c>duration_ms</c>, and <c>params</c>; within a budget,
/// past which an entry names what it left out in <c>omitted</c>.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ProcessListOutcomeTests : ApiFixture
{
    [Test]
    public async Task Both_lists_say_how_long_an_ended_process_stays()
    {
        // The hub says nothing when it forgets an ended process: a client drops them by this rule itself.
        var (_, token) = NewUser();
        var (tab, wsList) = await Server.OpenTabWithTokenAsync(token);
        await using var socket = tab;
        var httpList = (await Server.GetAsync("/api/processes", token)).Json;

        long expected = (long)new ProcessHub.Hub.HubOptions().Retention.TotalSeconds;
        Assert.That(wsList.Get("retention_seconds").GetInt64(), Is.EqualTo(expected), wsList.Text);
        Assert.That(httpList.GetProperty("retention_seconds").GetInt64(), Is.EqualTo(expected), httpList.ToString());
    }

    [Test]
    public async Task Every_outcome_a_live_tab_saw_is_in_the_list_a_new_tab_gets()
    {
        var (alice, token) = NewUser();
        var (live, _) = await Server.OpenTabWithTokenAsync(token);
        await using var liveSocket = live;
        string running = await Server.CreateAsync(token, new { process_type = "eval", total = 2, @params = new { suite = "mmlu", shots = 5 } });
        string completed = await Server.CreateAsync(token, new { process_type = "eval", @params = new { suite = "gsm8k" } });
        await Server.PostAsync($"/api/processes/{completed}/complete", token, """{"result":{"accuracy":0.91,"by_subject":{"math":0.8}}}""");
        string failed = await Server.CreateAsync(token, new { process_type = "sync" });
        await Server.PostAsync($"/api/processes/{failed}/fail", token, """{"error":{"message":"GPU lost","code":"oom"}}""");
        string cancelled = await Server.CreateAsync(token, new { process_type = "sync" });
        await Server.PostAsync($"/api/processes/{cancelled}/cancel", token, null);
        var terminal = new Dictionary<string, JsonElement>();
        var seen = await live.ReceiveThroughAsync(m => m.ProcessId == cancelled && m.Type == "process_cancelled");
        foreach (var message in seen.Where(m => m.IsTerminal).Select(m => m.Root))
        {
            terminal[message.Str("process_id")] = message;
        }

        var (reloaded, wsList) = await Server.OpenTabWithTokenAsync(token);
        await using var reloadedSocket = reloaded;
        var httpList = (await Server.GetAsync("/api/processes", token)).Json;

        Assert.That(Json.DeepEquals(httpList.GetProperty("processes"), wsList.Get("processes").GetRawText()), Is.True, $"HTTP {httpList}\nWS {wsList}");
        var listed = wsList.Get("processes").EnumerateArray().ToDictionary(p => p.Str("process_id"));
        Assert.Multiple(() =>
        {
            var r = listed[running];
            Assert.That(Json.DeepEquals(r.GetProperty("params"), """{"suite":"mmlu","shots":5}"""), Is.True, r.ToString());
            Assert.That(r.TryGetProperty("duration_ms", out _), Is.False, "duration_ms is for ended processes only");
            Assert.That(r.TryGetProperty("omitted", out _), Is.False);

            var c = listed[completed];
            Assert.That(Json.DeepEquals(c.GetProperty("result"), terminal[completed].GetProperty("result").GetRawText()), Is.True, c.ToString());
            Assert.That(c.Long("duration_ms"), Is.EqualTo(terminal[completed].Long("duration_ms")));
            Assert.That(Json.DeepEquals(c.GetProperty("params"), """{"suite":"gsm8k"}"""), Is.True, c.ToString());

            var f = listed[failed];
            Assert.That(Json.DeepEquals(f.GetProperty("error"), """{"message":"GPU lost","code":"oom"}"""), Is.True, f.ToString());
            Assert.That(f.Long("duration_ms"), Is.EqualTo(terminal[failed].Long("duration_ms")));
            Assert.That(f.TryGetProperty("params", out _), Is.False, "no params were given");

            var x = listed[cancelled];
            Assert.That(x.Str("cancelled_by"), Is.EqualTo(alice));
            Assert.That(x.Str("cancelled_by"), Is.EqualTo(terminal[cancelled].Str("cancelled_by")));
            Assert.That(x.Long("duration_ms"), Is.EqualTo(terminal[cancelled].Long("duration_ms")));
        });
    }

    [Test]
    public async Task An_admins_cancel_is_named_in_the_owners_list()
    {
        var (_, token) = NewUser();
        var (admin, adminToken) = NewUser("admin");
        string id = await Server.CreateAsync(token);

        var cancel = await Server.PostAsync($"/api/processes/{id}/cancel", adminToken, null);
        var one = await Server.GetProcessAsync(id, token);

        Assert.That(cancel.Status, Is.EqualTo(200), cancel.ToString());
        Assert.That(one.Str("cancelled_by"), Is.EqualTo(admin));
    }

    [Test]
    public async Task Past_the_budget_older_entries_name_what_they_left_out_and_get_one_still_has_it()
    {
        var (_, token) = NewUser();
        // 60,000-byte results: the newest four fit the 256 KiB budget, the fifth does not.
        string bigResult = "{\"result\":{\"blob\":\"" + new string('r', 60_000) + "\"}}";
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            string id = await Server.CreateAsync(token, new { process_type = "export", @params = new { n = i } });
            var complete = await Server.PostAsync($"/api/processes/{id}/complete", token, bigResult);
            Assert.That(complete.Status, Is.EqualTo(200), complete.ToString());
            ids.Add(id);
        }

        var reply = await Server.GetAsync("/api/processes", token);
        var (socket, wsList) = await Server.OpenTabWithTokenAsync(token);
        await using var listSocket = socket;

        var listed = reply.Json.GetProperty("processes").EnumerateArray().ToList();
        Assert.That(listed.Select(p => p.Str("process_id")), Is.EqualTo(ids));
        Assert.That(reply.Text.Length, Is.LessThan(ProcessHub.Hub.Messages.HubMessageWriter.ListDetailBudgetBytes + (8 * 1024)));
        Assert.Multiple(() =>
        {
            Assert.That(listed[0].TryGetProperty("result", out _), Is.False, "the oldest is past the budget");
            Assert.That(listed[0].GetProperty("omitted").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "result" }));
            Assert.That(Json.DeepEquals(listed[0].GetProperty("params"), """{"n":0}"""), Is.True, "small params still fit");
            Assert.That(listed[0].Long("duration_ms"), Is.GreaterThanOrEqualTo(0));
            foreach (var newer in listed.Skip(1))
            {
                Assert.That(newer.GetProperty("result").GetProperty("blob").GetString(), Has.Length.EqualTo(60_000));
                Assert.That(newer.TryGetProperty("omitted", out _), Is.False);
            }
        });
        Assert.That(Json.DeepEquals(wsList.Get("processes"), reply.Json.GetProperty("processes").GetRawText()), Is.True, "the WebSocket's list is the same");

        var one = await Server.GetProcessAsync(ids[0], token);
        Assert.That(one.GetProperty("result").GetProperty("blob").GetString(), Has.Length.EqualTo(60_000));
        Assert.That(one.TryGetProperty("omitted", out _), Is.False);
    }
}
