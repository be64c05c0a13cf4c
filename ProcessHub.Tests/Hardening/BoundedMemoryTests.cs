using System.Net.Http.Headers;
using NUnit.Framework;
using ProcessHub.Outbound;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, item 11: what the hub keeps must not grow with what it has seen. The frame pool used to keep every frame
/// ever released (it grew to the most frames ever in flight, for good) with buffers of up to 16 KiB, which drifted
/// into the history of small events (the memory of a full history grew cycle after cycle); the API kept a request
/// budget for every user that ever called it; a connection that followed no process kept an entry for every process
/// whose events it was not sent.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class BoundedMemoryTests
{
    [Test]
    [Category("unit")]
    public void The_frame_pool_keeps_at_most_its_cap_however_many_frames_were_in_flight()
    {
        var frames = Enumerable.Range(0, SharedFrame.MaxPooled * 3).Select(_ => SharedFrame.CreateText("{\"type\":\"pong\"}"u8)).ToList();
        foreach (var frame in frames)
        {
            frame.Release();
        }

        Assert.That(SharedFrame.PooledCount, Is.LessThanOrEqualTo(SharedFrame.MaxPooled));
        var again = SharedFrame.CreateText("{}"u8);
        Assert.That(again.Payload.ToArray(), Is.EqualTo("{}"u8.ToArray()), "a pooled frame is as good as new");
        again.Release();
    }

    [Test]
    [Category("unit")]
    public void A_pooled_frame_keeps_no_large_buffer_for_the_next_event()
    {
        // Frames as large as process lists go back to the pool...
        var large = Enumerable.Range(0, 64).Select(_ => SharedFrame.CreateText(new byte[12 * 1024])).ToList();
        foreach (var frame in large)
        {
            frame.Release();
        }

        // ...and whatever the pool hands out next (the next events, which sit in history for the retention window)
        // holds at most a small buffer.
        var next = Enumerable.Range(0, SharedFrame.MaxPooled).Select(_ => SharedFrame.Rent()).ToList();
        Assert.That(next.Max(f => f.BufferCapacity), Is.LessThanOrEqualTo(SharedFrame.KeptBufferLimit));
        foreach (var frame in next)
        {
            frame.Release();
        }
    }

    [Test]
    [Category("unit")]
    public void A_large_event_is_kept_in_a_buffer_of_its_own_size_and_a_small_one_as_it_is()
    {
        // From a security audit: a 4.2 KB event, written as a serializer writes (the buffer doubling), held 8 KB in
        // history for the retention window; one owner's histories pinned twice their events.
        var live = SharedFrame.Rent();
        for (int i = 0; i < 42; i++)
        {
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"u8.CopyTo(live.GetSpan(100));
            live.Advance(100);
        }
        live.SealText();
        Assert.That(live.BufferCapacity, Is.EqualTo(8192), "the live frame's rented buffer");

        var kept = live.ForHistory();
        Assert.That(kept, Is.Not.SameAs(live));
        Assert.That(kept.BufferCapacity, Is.EqualTo(4200 + 10), "the payload and room for the longest header");
        Assert.That(kept.Frame.ToArray(), Is.EqualTo(live.Frame.ToArray()), "the same bytes on the wire");
        Assert.That((kept.Kind, kept.CoalesceKey), Is.EqualTo((live.Kind, live.CoalesceKey)));
        live.Release();
        Assert.That(kept.Payload.Length, Is.EqualTo(4200), "the copy outlives the live frame");
        kept.Release();

        var small = SharedFrame.CreateText("{\"type\":\"process_progress\"}"u8);
        var keptSmall = small.ForHistory();
        Assert.That(keptSmall, Is.SameAs(small), "a small frame is kept as it is, with a reference");
        small.Release();
        keptSmall.Release();
    }

    [Test]
    public async Task A_hubs_history_keeps_a_large_progress_event_in_a_buffer_of_its_own_size()
    {
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("eval", "alice", total: 2);
        run.ReportProgress(1, 2, detail: new string('d', 4000));

        var record = host.App.Registry.FindRecord(run.ProcessId)!;
        var frame = record.HistoryAt(2)!;
        Assert.That(frame.Payload.ToArray(), Does.Contain((byte)'d'));
        Assert.That(frame.BufferCapacity, Is.EqualTo(frame.Payload.Length + 10));
    }

    [Test]
    public async Task The_api_forgets_the_request_budgets_of_users_that_went_quiet()
    {
        await using var host = HubTestHost.Start(fakeTime: true);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{host.App.LocalEndPoint}") };
        for (int i = 0; i < 1024; i++)
        {
            await GetListAsync(http, host.Token($"user-{i}"));
        }
        Assert.That(host.App.ApiAuthenticator.BudgetCount, Is.EqualTo(1024), "one budget per user while they are active");

        host.Time!.Advance(TimeSpan.FromSeconds(2));
        await GetListAsync(http, host.Token("one-more"));

        Assert.That(host.App.ApiAuthenticator.BudgetCount, Is.EqualTo(1), "the idle ones were dropped once the map reached 1,024");
    }

    [Test]
    public async Task A_connection_that_follows_no_process_does_not_keep_an_entry_for_every_process_the_hub_ever_ran()
    {
        await using var host = HubTestHost.Start(new ProcessHub.Hub.HubOptions { Retention = TimeSpan.Zero });
        await using var admin = await host.OpenTabAsync("root", admin: true);
        await admin.SendJsonAsync(new { type = "unsubscribe", process_id = "*" });
        await admin.ReceiveUntilAsync("unsubscribed");
        var session = host.App.Sessions.Admins.Single();

        // Every event it is not sent is remembered (a later subscribe ... since replays it); that used to include the
        // events of processes the hub had long let go, one entry each for as long as the connection lived.
        const int Processes = 3000;
        for (int i = 1; i <= Processes; i++)
        {
            var run = await host.App.Producer.StartAsync("export", $"user-{i % 50}", total: 1);
            await run.CompleteAsync();
            if (i % 250 == 0)
            {
                host.App.Timers.Sweep(); // ended with no retention: let go
            }
        }

        Assert.That(session.LiveAfterCount, Is.LessThanOrEqualTo(ProcessHub.Hub.Sessions.LiveAfterMap.FirstPruneAt),
            $"entries held after {Processes} processes came and went");
    }

    [Test]
    public async Task A_connection_that_subscribes_to_process_after_process_keeps_only_the_ids_the_hub_still_holds()
    {
        await using var host = HubTestHost.Start(new ProcessHub.Hub.HubOptions { Retention = TimeSpan.Zero, MessageRateLimit = 100_000 });
        await using var tab = await host.OpenTabAsync("alice");
        await tab.SendJsonAsync(new { type = "unsubscribe", process_id = "*" });
        await tab.ReceiveUntilAsync("unsubscribed");
        var session = host.App.Sessions.ForUser("alice").Single();

        // Each subscribe by id adds it to the connection's interest; nothing took out the ids of processes the hub had
        // let go, so the set grew for as long as the connection lived, and each subscribe rebuilt all of it.
        const int Processes = 600;
        for (int i = 1; i <= Processes; i++)
        {
            var run = await host.App.Producer.StartAsync("export", "alice", total: 1);
            await tab.SendJsonAsync(new { type = "subscribe", process_id = run.ProcessId, request_id = $"s{i}" });
            await tab.ReceiveUntilAsync(m => m.String("request_id") == $"s{i}");
            await run.CompleteAsync();
            await tab.ReceiveUntilAsync(m => m.Type == "process_completed" && m.ProcessId == run.ProcessId);
            host.App.Timers.Sweep(); // ended with no retention: let go
        }

        Assert.That(session.Interest.ExceptionCount, Is.LessThanOrEqualTo(2), $"ids held after {Processes} subscribes to processes that came and went");
    }

    private static async Task GetListAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/processes");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }
}
