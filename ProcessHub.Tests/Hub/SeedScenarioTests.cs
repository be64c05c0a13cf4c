using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// The promises of the protocol the users first wrote down (docs/protocol.md) over real sockets: every tab of a user sees the same events,
/// users see only their own processes, admins see all, a tab that comes back finds its processes in process_list.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SeedScenarioTests
{
    private static readonly Regex Rfc3339Millis = new(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", RegexOptions.CultureInvariant);

    [Test]
    public async Task Three_tabs_of_one_user_receive_identical_event_sequences_with_seq_from_one()
    {
        await using var host = HubTestHost.Start();
        var tabs = new List<RawWebSocketClient>();
        for (int i = 0; i < 3; i++)
        {
            tabs.Add(await host.OpenTabAsync("alice"));
        }

        var run = host.App.Producer.Start("benchmark", "alice", total: 12, parameters: new { models = new[] { "GPT-4o" }, runs = 3 });
        for (int step = 1; step <= 12; step++)
        {
            run.ReportProgress(step, 12, "GPT-4o", $"Run {((step - 1) / 4) + 1}/3, Context {step}K");
        }
        run.Complete(new { score = 0.93 });

        var sequences = new List<List<HubMessage>>();
        foreach (var tab in tabs)
        {
            var events = new List<HubMessage>();
            events.Add(await tab.ReceiveUntilAsync("process_completed", events));
            sequences.Add(events);
        }

        var first = sequences[0];
        Assert.That(first.Select(m => m.Type), Is.EqualTo(new[] { "process_started" }
            .Concat(Enumerable.Repeat("process_progress", 12))
            .Append("process_completed")));
        Assert.That(first.Select(m => m.Seq), Is.EqualTo(Enumerable.Range(1, 14).Select(i => (long)i)), "seq starts at 1 and grows by one");
        Assert.That(first.Select(m => m.ProcessId), Is.All.EqualTo(run.ProcessId));
        Assert.That(first[0].Get("owner").GetString(), Is.EqualTo("alice"));
        Assert.That(first[0].Get("progress").GetRawText(), Is.EqualTo("""{"current":0,"total":12}"""));
        Assert.That(first[0].Get("params").GetRawText(), Is.EqualTo("""{"models":["GPT-4o"],"runs":3}"""));
        Assert.That(first[0].Get("process_type").GetString(), Is.EqualTo("benchmark"));
        Assert.That(first[^1].Get("result").GetProperty("score").GetDouble(), Is.EqualTo(0.93));
        Assert.That(first[^1].Get("duration_ms").ValueKind, Is.EqualTo(JsonValueKind.Number));
        foreach (var other in sequences.Skip(1))
        {
            // Same bytes, not just the same meaning: every tab sees one and the same event stream.
            Assert.That(other.Select(m => m.ToString()), Is.EqualTo(first.Select(m => m.ToString())));
        }
        foreach (var tab in tabs)
        {
            await tab.DisposeAsync();
        }
    }

    [Test]
    public async Task The_seed_example_message_is_exactly_what_a_client_receives_plus_seq()
    {
        // A fixed clock makes the whole message predictable, timestamp included.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 2, 17, 14, 30, 0, 123, TimeSpan.Zero));
        await using var host = HubTestHost.Start(time: time);
        await using var tab = await host.OpenTabAsync("alice");

        var run = host.App.Producer.Start("benchmark", "alice", total: 12);
        run.ReportProgress(5, 12, "GPT-4o", "Run 2/3, Context 5K");
        var progress = await tab.ReceiveUntilAsync("process_progress");

        var expected = JsonNode.Parse($$"""
            {
              "type": "process_progress",
              "process_id": "{{run.ProcessId}}",
              "process_type": "benchmark",
              "progress": {
                "current": 5,
                "total": 12,
                "model": "GPT-4o",
                "detail": "Run 2/3, Context 5K"
              },
              "timestamp": "2026-02-17T14:30:00.123Z",
              "seq": 2
            }
            """);
        var actual = JsonNode.Parse(progress.Raw);
        Assert.That(JsonNode.DeepEquals(actual, expected), Is.True, $"received {progress}");
    }

    [Test]
    public async Task Every_timestamp_is_rfc3339_utc_with_milliseconds()
    {
        await using var host = HubTestHost.Start();
        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = tab;
        var run = host.App.Producer.Start("benchmark", "alice", total: 2);
        run.ReportProgress(1, 2);
        run.Fail("out of memory", "oom");
        var messages = new List<HubMessage> { list };
        messages.Add(await tab.ReceiveUntilAsync("process_failed", messages));
        await tab.SendJsonAsync(new { type = "ping" });
        messages.Add(await tab.ReceiveUntilAsync("pong"));

        foreach (var message in messages)
        {
            var text = message.String("timestamp");
            Assert.That(text, Does.Match(Rfc3339Millis), $"in {message}");
            var parsed = DateTimeOffset.ParseExact(text!, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            Assert.That((DateTimeOffset.UtcNow - parsed).Duration(), Is.LessThan(TimeSpan.FromHours(1)), "it is the hub's current UTC time");
        }
        Assert.That(messages[^2].Get("error").GetRawText(), Is.EqualTo("""{"message":"out of memory","code":"oom"}"""));
    }

    [Test]
    public async Task A_second_user_sees_none_of_it_and_may_not_cancel_it()
    {
        await using var host = HubTestHost.Start();
        await using var alice = await host.OpenTabAsync("alice");
        var earlier = host.App.Producer.Start("benchmark", "alice", total: 3);
        var (bob, bobList) = await host.OpenTabWithListAsync("bob");
        await using var owned = bob;
        Assert.That(bobList.Get("processes").GetArrayLength(), Is.Zero, "bob's process_list does not show alice's process");

        earlier.ReportProgress(1, 3, "GPT-4o");
        var later = host.App.Producer.Start("benchmark", "alice", total: 1);
        later.Complete();
        await alice.ReceiveUntilAsync(m => m.Type == "process_completed" && m.ProcessId == later.ProcessId);

        await bob.SendJsonAsync(new { type = "cancel_process", process_id = earlier.ProcessId, request_id = "bob-1" });
        var error = await bob.ReceiveAsync();
        Assert.That(error.Type, Is.EqualTo("error"), "bob's first message is the reply: none of alice's events came before it");
        Assert.That(error.String("code"), Is.EqualTo("forbidden"));
        Assert.That(error.String("request_id"), Is.EqualTo("bob-1"));
        Assert.That(error.ProcessId, Is.EqualTo(earlier.ProcessId));
        Assert.That(earlier.IsEnded, Is.False);
        Assert.That(earlier.CancellationToken.IsCancellationRequested, Is.False);
    }

    [Test]
    public async Task An_admin_sees_every_users_processes()
    {
        await using var host = HubTestHost.Start();
        var before = host.App.Producer.Start("benchmark", "bob", total: 1);
        var (admin, list) = await host.OpenTabWithListAsync("root", admin: true);
        await using var owned = admin;
        Assert.That(list.Get("processes").EnumerateArray().Select(p => p.GetProperty("process_id").GetString()), Is.EqualTo(new[] { before.ProcessId }));

        var alices = host.App.Producer.Start("benchmark", "alice", total: 4);
        alices.ReportProgress(1, 4);
        before.ReportProgress(1, 1);
        var seen = new List<HubMessage>();
        seen.Add(await admin.ReceiveUntilAsync(m => m.Type == "process_progress" && m.ProcessId == before.ProcessId, seen));
        Assert.That(seen.Select(m => (m.Type, m.ProcessId)), Is.EqualTo(new[]
        {
            ("process_started", alices.ProcessId),
            ("process_progress", alices.ProcessId),
            ("process_progress", before.ProcessId),
        }));

        // Admins may cancel anyone's process; cancelled_by names the admin.
        await using var bob = await host.OpenTabAsync("bob");
        await admin.SendJsonAsync(new { type = "cancel_process", process_id = before.ProcessId });
        var cancelled = await bob.ReceiveUntilAsync("process_cancelled");
        Assert.That(cancelled.String("cancelled_by"), Is.EqualTo("root"));
        Assert.That(before.CancellationToken.IsCancellationRequested, Is.True);
    }

    [Test]
    public async Task Cancel_from_a_second_tab_stops_the_producer_and_every_tab_sees_process_cancelled()
    {
        await using var host = HubTestHost.Start();
        await using var tab1 = await host.OpenTabAsync("alice");
        await using var tab2 = await host.OpenTabAsync("alice");
        var run = host.App.Producer.Start("benchmark", "alice", total: 12);
        var producerStopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = run.CancellationToken.Register(producerStopped.SetResult);
        run.ReportProgress(3, 12, "GPT-4o");
        await tab2.ReceiveUntilAsync("process_progress");

        await tab2.SendJsonAsync(new { type = "cancel_process", process_id = run.ProcessId, request_id = "stop" });

        await producerStopped.Task.WaitAsync(TestTimeouts.Receive);
        foreach (var tab in new[] { tab1, tab2 })
        {
            var cancelled = await tab.ReceiveUntilAsync("process_cancelled");
            Assert.That(cancelled.ProcessId, Is.EqualTo(run.ProcessId));
            Assert.That(cancelled.String("cancelled_by"), Is.EqualTo("alice"));
            Assert.That(cancelled.Seq, Is.EqualTo(3));
            Assert.That(cancelled.Get("duration_ms").GetInt64(), Is.GreaterThanOrEqualTo(0));
        }
        Assert.That(run.ReportProgress(4, 12), Is.EqualTo(ReportResult.AlreadyEnded), "a cancelled process takes no more reports");
    }

    [Test]
    public async Task A_reopened_tab_gets_process_list_first_with_the_running_process_and_its_current_progress()
    {
        await using var host = HubTestHost.Start();
        var tab = await host.OpenTabAsync("alice");
        var run = host.App.Producer.Start("benchmark", "alice", total: 12, parameters: new { models = new[] { "GPT-4o" } });
        for (int step = 1; step <= 7; step++)
        {
            run.ReportProgress(step, 12, "GPT-4o", $"step {step}");
        }
        await tab.ReceiveUntilAsync(m => m.Type == "process_progress" && m.Seq == 8);
        await tab.CloseAsync();
        await tab.DisposeAsync();

        run.ReportProgress(8, 12, "GPT-4o", "while no tab was open");

        var (reopened, list) = await host.OpenTabWithListAsync("alice");
        await using var owned = reopened;
        Assert.That(list.String("epoch"), Is.EqualTo(host.Epoch));
        var processes = list.Get("processes").EnumerateArray().ToList();
        Assert.That(processes, Has.Count.EqualTo(1));
        var listed = processes[0];
        Assert.That(listed.GetProperty("process_id").GetString(), Is.EqualTo(run.ProcessId));
        Assert.That(listed.GetProperty("process_type").GetString(), Is.EqualTo("benchmark"));
        Assert.That(listed.GetProperty("status").GetString(), Is.EqualTo("running"));
        Assert.That(listed.GetProperty("owner").GetString(), Is.EqualTo("alice"));
        Assert.That(listed.GetProperty("seq").GetInt64(), Is.EqualTo(9));
        Assert.That(listed.GetProperty("progress").GetRawText(), Is.EqualTo("""{"current":8,"total":12,"model":"GPT-4o","detail":"while no tab was open"}"""));
        Assert.That(listed.GetProperty("started_at").GetString(), Does.Match(Rfc3339Millis));
        Assert.That(listed.TryGetProperty("ended_at", out _), Is.False);

        // Live events continue right after the list, with the next seq.
        run.ReportProgress(9, 12);
        var next = await reopened.ReceiveAsync();
        Assert.That((next.Type, next.Seq), Is.EqualTo(("process_progress", 10L)));
    }

    [Test]
    public async Task A_process_that_ended_with_no_tab_open_is_listed_within_the_retention_window_and_not_after()
    {
        await using var host = HubTestHost.Start(new HubOptions { Retention = TimeSpan.FromMinutes(1) }, fakeTime: true);
        var time = host.Time!;
        var completed = host.App.Producer.Start("benchmark", "alice", total: 2);
        completed.ReportProgress(2, 2);
        completed.Complete(new { score = 1 });
        var failed = host.App.Producer.Start("import", "alice", total: 5);
        failed.Fail("disk full", "enospc");

        time.Advance(TimeSpan.FromSeconds(59));
        host.App.Timers.Sweep();
        var (tab, list) = await host.OpenTabWithListAsync("alice");
        await tab.DisposeAsync();
        var listed = list.Get("processes").EnumerateArray().ToDictionary(p => p.GetProperty("process_id").GetString()!);
        Assert.That(listed.Keys, Is.EquivalentTo(new[] { completed.ProcessId, failed.ProcessId }));
        Assert.That(listed[completed.ProcessId].GetProperty("status").GetString(), Is.EqualTo("completed"));
        Assert.That(listed[completed.ProcessId].GetProperty("seq").GetInt64(), Is.EqualTo(3));
        Assert.That(listed[completed.ProcessId].GetProperty("progress").GetRawText(), Is.EqualTo("""{"current":2,"total":2}"""));
        Assert.That(listed[completed.ProcessId].GetProperty("ended_at").GetString(), Does.Match(Rfc3339Millis));
        Assert.That(listed[failed.ProcessId].GetProperty("status").GetString(), Is.EqualTo("failed"));
        Assert.That(listed[failed.ProcessId].GetProperty("error").GetRawText(), Is.EqualTo("""{"message":"disk full","code":"enospc"}"""));

        time.Advance(TimeSpan.FromSeconds(2));
        host.App.Timers.Sweep();
        var (late, lateList) = await host.OpenTabWithListAsync("alice");
        await late.DisposeAsync();
        Assert.That(lateList.Get("processes").GetArrayLength(), Is.Zero, "past the retention window the ended processes are gone");
    }
}
