using System.Net;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessState = ProcessHub.Client.ProcessState;
using ProcessHub.Hub;
using ProcessHub.Tests.Browser;
using ProcessHub.Tests.Hub;
using ProcessHub.Tests.Infrastructure;
using ProcessHub.WebSockets;

namespace ProcessHub.Tests.Client;

/// <summary>
/// The watcher client against a real hub over loopback: typed events, cancel, and the recovery rules of
/// docs/protocol.md sections 3-6 (resume in the same epoch with no gap and no duplicate; a restarted hub's new
/// epoch and list; give up on a rejected token; report an unreachable hub and retry).
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class HubWatcherTests
{
    private static HubWatcher Watcher(IPEndPoint hub, string? token = null, Func<CancellationToken, ValueTask<string>>? provider = null, int? maxFailedAttempts = null) =>
        new(new HubWatcherOptions
        {
            Url = new Uri($"ws://{hub}/ws"),
            Token = token,
            TokenProvider = provider,
            // Short delays keep reconnect tests quick; the jitter stays on, as in production.
            MinReconnectDelay = TimeSpan.FromMilliseconds(20),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(300),
            MaxFailedAttempts = maxFailedAttempts,
        });

    [Test]
    public async Task A_refresh_with_other_roles_reconnects_with_that_token_instead_of_giving_up()
    {
        // From a review: the hub closes a refresh whose roles differ with 4401 "token roles changed" and asks for a new
        // connection with that token; the watcher took it as the token rejected, and gave up when its provider gave
        // the same token again. An admin token of 3 s is refreshed about 2 s before its end with a plain one.
        await using var host = HubTestHost.Start();
        string plain = host.Token("ops", lifetime: TimeSpan.FromHours(1));
        int calls = 0;
        ValueTask<string> Provider(CancellationToken _) =>
            ValueTask.FromResult(Interlocked.Increment(ref calls) == 1 ? host.Token("ops", admin: true, lifetime: TimeSpan.FromSeconds(3)) : plain);
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, provider: Provider));
        await events.NextAsync<HubConnected>();
        await events.NextAsync<ProcessListed>();

        var dropped = await events.NextAsync<HubDisconnected>();
        Assert.That((dropped.CloseStatus, dropped.Reason), Is.EqualTo(((int?)4401, "token roles changed")));
        var again = await events.NextAsync<HubConnected>();
        Assert.That(again.IsReconnect, Is.True);
    }

    [Test]
    public async Task A_watcher_sees_a_process_start_progress_and_complete_as_typed_events()
    {
        await using var host = HubTestHost.Start();
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, host.Token("alice")));

        var connected = await events.NextAsync<HubConnected>();
        Assert.That(connected.IsReconnect, Is.False);
        Assert.That(connected.Epoch, Is.EqualTo(host.Epoch));
        var list = await events.NextAsync<ProcessListed>();
        Assert.That(list.Processes, Is.Empty);
        Assert.That(list.Epoch, Is.EqualTo(host.Epoch));

        var run = host.App.Producer.Start("benchmark", "alice", total: 2, parameters: new { models = new[] { "GPT-4o" } });
        run.ReportProgress(1, 2, "GPT-4o", "Run 1/1, Context 1K");
        run.Complete(new { score = 0.5 });

        var started = await events.NextAsync<ProcessStarted>();
        var progress = await events.NextAsync<ProcessProgress>();
        var completed = await events.NextAsync<ProcessCompleted>();
        Assert.Multiple(() =>
        {
            Assert.That(started.ProcessId, Is.EqualTo(run.ProcessId));
            Assert.That(started.ProcessType, Is.EqualTo("benchmark"));
            Assert.That(started.Owner, Is.EqualTo("alice"));
            Assert.That(started.Progress.Total, Is.EqualTo(2));
            Assert.That(started.Parameters!.Value.GetProperty("models")[0].GetString(), Is.EqualTo("GPT-4o"));
            Assert.That(progress.Progress.Current, Is.EqualTo(1));
            Assert.That(progress.Progress.Model, Is.EqualTo("GPT-4o"));
            Assert.That(progress.Progress.Detail, Is.EqualTo("Run 1/1, Context 1K"));
            Assert.That(completed.Result!.Value.GetProperty("score").GetDouble(), Is.EqualTo(0.5));
            Assert.That(completed.Duration, Is.GreaterThanOrEqualTo(TimeSpan.Zero));
            Assert.That(new ProcessEvent[] { started, progress, completed }.Select(e => e.Seq), Is.EqualTo(new[] { 1L, 2L, 3L }));
            Assert.That(new ProcessEvent[] { started, progress, completed }.Select(e => e.IsReplay), Is.All.False);
            Assert.That(completed.RawJson, Does.StartWith("{\"type\":\"process_completed\""));
        });
    }

    [Test]
    public async Task Cancel_through_the_watcher_fires_the_producers_token_and_a_second_cancel_is_a_conflict()
    {
        await using var host = HubTestHost.Start();
        var run = host.App.Producer.Start("benchmark", "alice", total: 10);
        var watcher = Watcher(host.App.LocalEndPoint, host.Token("alice"));
        await using var events = new WatchedEvents(watcher);
        var list = await events.NextAsync<ProcessListed>();
        Assert.That(list.Processes.Select(p => p.ProcessId), Is.EqualTo(new[] { run.ProcessId }));
        Assert.That(list.Processes[0].Status, Is.EqualTo(ProcessState.Running));

        // The confirmation is read by the enumeration: keep pulling while the cancel is pending.
        var cancelling = watcher.CancelAsync(run.ProcessId);
        var cancelled = await events.NextAsync<ProcessCancelled>();
        await cancelling.WaitAsync(TestTimeouts.Receive);
        Assert.That(cancelled.CancelledBy, Is.EqualTo("alice"));
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.True, "the producer's token fired");

        var again = watcher.CancelAsync(run.ProcessId);
        var error = await events.NextAsync<HubError>();
        Assert.That(error.Code, Is.EqualTo("conflict"));
        var refused = Assert.ThrowsAsync<HubRequestException>(async () => await again.WaitAsync(TestTimeouts.Receive));
        Assert.That(refused!.Code, Is.EqualTo("conflict"));
    }

    /// <summary>
    /// docs/protocol.md sections 4-5: the hub drops the connection (4429 with the queue discarded, or a reset: 1006)
    /// while events are in flight, more are published while no connection exists, and the watcher resumes in the same
    /// epoch: every event of the process arrives exactly once, in order, the missed ones marked as replayed.
    /// </summary>
    [TestCase("4429")]
    [TestCase("reset")]
    public async Task A_dropped_connection_resumes_in_the_same_epoch_with_no_gap_and_no_duplicate(string drop)
    {
        await using var host = HubTestHost.Start();
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, host.Token("alice")));
        await events.NextAsync<ProcessListed>();
        var run = host.App.Producer.Start("benchmark", "alice", total: 30);
        await events.NextAsync<ProcessStarted>();
        for (int i = 1; i <= 5; i++)
        {
            run.ReportProgress(i, 30);
            await events.NextAsync<ProcessProgress>();
        }

        foreach (var session in host.App.Sessions.ForUser("alice"))
        {
            if (drop == "4429")
            {
                ((ProcessHub.Outbound.OutboundConnection)session.Connection).CloseAsSlowConsumer();
            }
            else
            {
                ((ProcessHub.Outbound.OutboundConnection)session.Connection).Abort();
            }
        }
        for (int i = 6; i <= 15; i++)
        {
            run.ReportProgress(i, 30); // into the dying connection: lost with it
        }
        var dropped = await events.NextAsync<HubDisconnected>();
        Assert.That(dropped.CloseStatus, Is.EqualTo(drop == "4429" ? 4429 : 1006), dropped.ToString());
        Assert.That(dropped.WasConnected, Is.True);
        Assert.That(dropped.RetryIn, Is.Not.Null);
        // The watcher does not reconnect until asked for the next event: once the hub has let go of the old
        // connection, alice has none.
        await Eventually.HoldsAsync(() => host.App.Sessions.ForUser("alice").Count == 0, "the hub released the dropped connection");
        for (int i = 16; i <= 20; i++)
        {
            run.ReportProgress(i, 30); // while no connection exists at all
        }

        var reconnected = await events.NextAsync<HubConnected>();
        Assert.That(reconnected.IsReconnect, Is.True);
        Assert.That(reconnected.EpochChanged, Is.False);
        Assert.That(reconnected.Recovered, Is.True, "the hub's history covered the gap");
        var list = await events.NextAsync<ProcessListed>();
        Assert.That(list.Processes.Single().Seq, Is.EqualTo(21));
        for (int i = 21; i <= 25; i++)
        {
            run.ReportProgress(i, 30);
        }
        run.Complete();
        await events.NextAsync<ProcessCompleted>();

        var seen = events.EventsOf(run.ProcessId);
        Assert.That(seen.Select(e => e.Seq), Is.EqualTo(Enumerable.Range(1, 27).Select(i => (long)i)), "every seq once, in order");
        Assert.That(seen.Where(e => e.IsReplay).Select(e => e.Seq), Is.EqualTo(Enumerable.Range(7, 15).Select(i => (long)i)), "the missed events, replayed");
        int listAt = events.Seen.IndexOf(list);
        Assert.That(events.Seen.Take(listAt).OfType<ProcessEvent>().Max(e => e.Seq), Is.EqualTo(21), "replayed before the list, live after it");
    }

    [Test]
    public async Task A_watcher_with_a_token_provider_sends_a_fresh_token_before_expiry_and_keeps_its_connection()
    {
        // From an audit: the watcher never sent a fresh token on its open connection (docs/protocol.md 2.6), so the hub
        // closed it with 4401 at every token lifetime, and it reconnected and resumed each time.
        await using var host = HubTestHost.Start(); // no clock skew: a token is refused at its exp
        int issued = 0;
        ValueTask<string> Provider(CancellationToken _)
        {
            Interlocked.Increment(ref issued);
            return ValueTask.FromResult(host.Token("alice", lifetime: TimeSpan.FromSeconds(5)));
        }
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, provider: Provider));

        // Events flow while the provider is asked for two fresh tokens: past the first token's lifetime and more.
        await AssertOneConnectionWhileEventsFlowAsync(host, events, until: () => Volatile.Read(ref issued) >= 3);
    }

    /// <summary>
    /// Reports on a process, each awaited as an event, until <paramref name="until"/> holds; then asserts that the
    /// watcher kept its first connection throughout.
    /// </summary>
    private static async Task AssertOneConnectionWhileEventsFlowAsync(HubTestHost host, WatchedEvents events, Func<bool> until)
    {
        await events.NextAsync<ProcessListed>();
        var run = host.App.Producer.Start("eval", "alice", total: 1000);
        for (int i = 1; !until(); i++)
        {
            run.ReportProgress(i, 1000);
            await events.NextAsync<ProcessProgress>(p => p.Progress.Current == i);
            await Task.Delay(100); // paces the reports; each is awaited as an event above
        }
        run.ReportProgress(999, 1000);
        await events.NextAsync<ProcessProgress>(p => p.Progress.Current == 999);
        Assert.That(events.Seen.OfType<HubDisconnected>(), Is.Empty, "one connection throughout: " + string.Join("\n", events.Seen.OfType<HubDisconnected>()));
        Assert.That(events.Seen.OfType<HubConnected>().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_token_provider_that_renews_late_is_asked_again_until_it_gives_a_newer_token()
    {
        // From a review: a provider that hands back its cached token until shortly before expiry was asked once, and
        // the refreshing stopped: the hub closed the connection at every token lifetime again.
        await using var host = HubTestHost.Start(jwt: new ProcessHub.Auth.JwtSettings { Secret = HubTestHost.Secret, ClockSkew = TimeSpan.FromSeconds(2) });
        string cached = host.Token("alice", lifetime: TimeSpan.FromSeconds(5));
        int renewed = 0;
        ValueTask<string> Provider(CancellationToken _)
        {
            // Renews only in the last 1.5 s of the cached token's life (the watcher first asks 2 s before).
            if (ProcessHub.Client.Internal.TokenExpiry.Of(cached) - DateTimeOffset.UtcNow < TimeSpan.FromSeconds(1.5))
            {
                cached = host.Token("alice", lifetime: TimeSpan.FromSeconds(5));
                Interlocked.Increment(ref renewed);
            }
            return ValueTask.FromResult(cached);
        }
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, provider: Provider));

        // Two renewals: past the first token's expiry and the hub's 2 s of skew.
        await AssertOneConnectionWhileEventsFlowAsync(host, events, until: () => Volatile.Read(ref renewed) >= 2);
    }

    [Test]
    public async Task Processes_that_started_and_ended_while_the_watcher_was_away_reach_it_from_their_first_event()
    {
        // From an audit: a reconnect in the same epoch resumed only the processes the watcher knew, and said it had
        // recovered everything; one started (and failed) meanwhile came only as a line of the list, with no
        // ProcessStarted or ProcessFailed for a consumer that acts on those.
        await using var host = HubTestHost.Start();
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, host.Token("alice")));
        await events.NextAsync<ProcessListed>();
        foreach (var session in host.App.Sessions.ForUser("alice"))
        {
            ((ProcessHub.Outbound.OutboundConnection)session.Connection).Abort();
        }
        await events.NextAsync<HubDisconnected>();
        // The watcher does not reconnect until asked for the next event: these happen while it has no connection.
        await Eventually.HoldsAsync(() => host.App.Sessions.ForUser("alice").Count == 0, "the hub released the dropped connection");
        var failed = host.App.Producer.Start("eval", "alice", total: 4);
        failed.ReportProgress(1, 4);
        failed.Fail("GPU lost", "oom");
        var running = host.App.Producer.Start("export", "alice", total: 2);

        var reconnected = await events.NextAsync<HubConnected>();
        var list = await events.NextAsync<ProcessListed>();
        Assert.That(list.Processes.Select(p => p.ProcessId), Is.EquivalentTo(new[] { failed.ProcessId, running.ProcessId }));
        Assert.That(reconnected.Recovered, Is.True, reconnected.ToString());
        Assert.That(events.EventsOf(failed.ProcessId).Select(e => (e.GetType().Name, e.Seq, e.IsReplay)),
            Is.EqualTo(new[] { (nameof(ProcessStarted), 1L, true), (nameof(ProcessProgress), 2L, true), (nameof(ProcessFailed), 3L, true) }));
        Assert.That(events.EventsOf(running.ProcessId).Select(e => (e.GetType().Name, e.Seq)), Is.EqualTo(new[] { (nameof(ProcessStarted), 1L) }));
        running.ReportProgress(1, 2);
        var live = await events.NextAsync<ProcessProgress>();
        Assert.That((live.ProcessId, live.Seq, live.IsReplay), Is.EqualTo((running.ProcessId, 2L, false)));
    }

    /// <summary>
    /// The observation: the hub restarts (1001, then a new process on the same port). The watcher reports the
    /// close, retries while the port is closed, reconnects, and takes the new epoch's list as the truth.
    /// </summary>
    [Test]
    public async Task A_hub_restart_on_the_same_port_is_reconnected_with_a_new_epoch_and_the_new_list()
    {
        await using var hub = new DashboardHost();
        hub.Start();
        await using var events = new WatchedEvents(Watcher(hub.EndPoint, hub.Token("alice")));
        string firstEpoch = (await events.NextAsync<HubConnected>()).Epoch;
        await events.NextAsync<ProcessListed>();
        var before = hub.App.Producer.Start("benchmark", "alice", total: 3);
        await events.NextAsync<ProcessStarted>();

        var stopping = hub.StopAsync();
        var dropped = await events.NextAsync<HubDisconnected>();
        await stopping;
        Assert.That(dropped.CloseStatus, Is.EqualTo(1001), dropped.ToString());
        Assert.That(dropped.RetryIn, Is.Not.Null, "1001 means: come back later");

        // The watcher is paused at the event just read: its next attempt finds the port closed.
        var refused = await events.NextAsync<HubDisconnected>();
        Assert.That((refused.WasConnected, refused.CloseStatus, refused.Reason), Is.EqualTo((false, (int?)null, "connection refused")));
        Assert.That(refused.RetryIn, Is.Not.Null);

        hub.Start();
        var after = hub.App.Producer.Start("evaluation", "alice", total: 2);
        var reconnected = await events.NextAsync<HubConnected>();
        Assert.That(reconnected.IsReconnect, Is.True);
        Assert.That(reconnected.EpochChanged, Is.True);
        Assert.That(reconnected.Recovered, Is.False);
        Assert.That(reconnected.Epoch, Is.EqualTo(hub.App.Registry.Epoch).And.Not.EqualTo(firstEpoch));
        var list = await events.NextAsync<ProcessListed>();
        Assert.That(list.Processes.Select(p => p.ProcessId), Is.EqualTo(new[] { after.ProcessId }), "the new hub's list replaces the old one");
        Assert.That(list.Processes.Select(p => p.ProcessId), Does.Not.Contain(before.ProcessId));

        after.ReportProgress(1, 2);
        var live = await events.NextAsync<ProcessProgress>();
        Assert.That(live.ProcessId, Is.EqualTo(after.ProcessId));
        Assert.That(live.Seq, Is.EqualTo(2));
    }

    [Test]
    public async Task A_normal_close_from_the_hub_ends_the_watch_without_a_retry()
    {
        await using var host = HubTestHost.Start();
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, host.Token("alice")));
        await events.NextAsync<ProcessListed>();

        foreach (var session in host.App.Sessions.ForUser("alice"))
        {
            session.Connection.Close(CloseCode.Normal, "done");
        }
        var closed = await events.NextAsync<HubDisconnected>();
        Assert.That((closed.CloseStatus, closed.Reason, closed.RetryIn), Is.EqualTo(((int?)1000, "done", (TimeSpan?)null)));
        Assert.That(await events.MoveNextAsync(), Is.False, "the sequence ends");
    }

    [Test]
    public async Task An_unreachable_hub_is_reported_with_the_next_attempts_delay_until_the_attempts_run_out()
    {
        var closedPort = UnusedPort.Get();
        await using var events = new WatchedEvents(Watcher(closedPort, "any-token", maxFailedAttempts: 3));

        var first = await events.NextAsync<HubDisconnected>();
        var second = await events.NextAsync<HubDisconnected>();
        Assert.Multiple(() =>
        {
            Assert.That(first.WasConnected, Is.False);
            Assert.That(first.CloseStatus, Is.Null);
            Assert.That(first.Reason, Is.EqualTo("connection refused"));
            Assert.That(first.RetryIn, Is.Not.Null);
            Assert.That(first.ToString(), Does.Contain($"ws://{closedPort}/ws").And.Contain("retrying in"));
            Assert.That(second.RetryIn, Is.GreaterThan(first.RetryIn!.Value), "the delay grows (jitter shortens each by at most a fifth)");
        });
        var gaveUp = Assert.ThrowsAsync<HubConnectionException>(async () => await events.MoveNextAsync());
        Assert.That(gaveUp!.Message, Does.Contain("after 3 attempts").And.Contain("connection refused"));
    }

    [Test]
    public async Task An_attempt_that_runs_out_of_ConnectTimeout_is_reported_as_timed_out()
    {
        // From an audit: the reason read "Operation canceled" (the cancel's own SocketException inside the timeout),
        // in HubDisconnected.Reason and in the give-up message alike. This server accepts and never answers the upgrade.
        await using var silent = new SilentServer();
        await using var events = new WatchedEvents(new HubWatcher(new HubWatcherOptions
        {
            Url = new Uri($"ws://{silent.EndPoint}/ws"),
            Token = "any-token",
            ConnectTimeout = TimeSpan.FromMilliseconds(200),
            MinReconnectDelay = TimeSpan.FromMilliseconds(20),
            MaxFailedAttempts = 2,
        }));

        var first = await events.NextAsync<HubDisconnected>();
        Assert.That((first.WasConnected, first.Reason), Is.EqualTo((false, "timed out")), first.ToString());
        Assert.That(first.Exception, Is.InstanceOf<TimeoutException>());
        var gaveUp = Assert.ThrowsAsync<HubConnectionException>(async () => await events.MoveNextAsync());
        Assert.That(gaveUp!.Message, Does.EndWith("after 2 attempts (timed out)"));
    }

    /// <summary>
    /// From an audit: <see cref="HubWatcherOptions.MaxMessageBytes"/> was checked only when the 16 KiB buffer filled,
    /// against the pooled array's size (a power of two), so a limit of 1,000 took 16 KiB, and one of 20,000 took 32 KiB.
    /// On a hub whose clock stands still every tab's list is the same to the byte: a limit of its length takes it, one
    /// byte less refuses it, closing with 1009 and ending the watch.
    /// </summary>
    [TestCase(1, TestName = "A list of one process (under the first buffer)")]
    [TestCase(12, TestName = "A list of twelve processes (over the first buffer)")]
    public async Task A_message_longer_than_MaxMessageBytes_is_refused_to_the_byte(int processes)
    {
        await using var host = HubTestHost.Start(fakeTime: true);
        for (int i = 0; i < processes; i++)
        {
            host.App.Producer.Start("eval", "alice", total: 10).ReportProgress(1, 10, "GPT-4o", new string('d', 1_500));
        }
        int length;
        await using (var reference = new WatchedEvents(Watcher(host.App.LocalEndPoint, host.Token("alice"))))
        {
            length = System.Text.Encoding.UTF8.GetByteCount((await reference.NextAsync<ProcessListed>()).RawJson!);
        }

        await using var exact = new WatchedEvents(new HubWatcher(new HubWatcherOptions { Url = new Uri($"ws://{host.App.LocalEndPoint}/ws"), Token = host.Token("alice"), MaxMessageBytes = length }));
        var taken = await exact.NextAsync<ProcessListed>();
        Assert.That(taken.Processes, Has.Count.EqualTo(processes));

        await using var under = new WatchedEvents(new HubWatcher(new HubWatcherOptions { Url = new Uri($"ws://{host.App.LocalEndPoint}/ws"), Token = host.Token("alice"), MaxMessageBytes = length - 1 }));
        var refused = Assert.ThrowsAsync<HubConnectionException>(async () => await under.NextAsync<ProcessListed>());
        Assert.That((refused!.CloseStatus, refused.Message), Is.EqualTo(((int?)1009, $"a message from the hub is larger than {length - 1} bytes")));
        await Eventually.HoldsAsync(() => host.App.Counters.Closes.GetValueOrDefault(1009) == 1, "the hub saw the watcher close with 1009");
    }

    [Test]
    public async Task A_list_entry_carries_params_result_cancelled_by_and_duration_and_says_what_it_left_out()
    {
        // docs/protocol.md 3.3: a tab that connects after a process ended shows it as a live one did.
        await using var host = HubTestHost.Start();
        var completed = host.App.Producer.Start("eval", "alice", total: 1, parameters: new { suite = "mmlu" });
        completed.Complete(new { accuracy = 0.91 });
        var cancelled = host.App.Producer.Start("export", "alice", total: 3);
        var cancel = await RawHttpClient.PostAsync(host.App.LocalEndPoint, $"/api/processes/{cancelled.ProcessId}/cancel", host.Token("alice"), null);
        Assert.That(cancel.Status, Is.EqualTo(200), cancel.ToString());
        var running = host.App.Producer.Start("train", "alice", total: 5);
        // Five results of 60 KiB are past the list's 256 KiB budget for params and results: the oldest go without.
        var large = Enumerable.Range(0, 5).Select(_ => host.App.Producer.Start("bulk", "alice", total: 1)).ToList();
        foreach (var run in large)
        {
            run.Complete(new { blob = new string('r', 60 * 1024) });
        }

        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, host.Token("alice")));
        var list = await events.NextAsync<ProcessListed>();
        var byId = list.Processes.ToDictionary(p => p.ProcessId);
        var done = byId[completed.ProcessId];
        var stopped = byId[cancelled.ProcessId];
        var live = byId[running.ProcessId];
        Assert.Multiple(() =>
        {
            Assert.That(done.Parameters!.Value.GetProperty("suite").GetString(), Is.EqualTo("mmlu"));
            Assert.That(done.Result!.Value.GetProperty("accuracy").GetDouble(), Is.EqualTo(0.91));
            Assert.That(done.Duration, Is.EqualTo(TimeSpan.FromMilliseconds(done.Json.GetProperty("duration_ms").GetInt64())));
            Assert.That((done.CancelledBy, done.Omitted), Is.EqualTo(((string?)null, Array.Empty<string>())));
            Assert.That((stopped.CancelledBy, stopped.Parameters, stopped.Result), Is.EqualTo(("alice", (System.Text.Json.JsonElement?)null, (System.Text.Json.JsonElement?)null)));
            Assert.That(stopped.Duration, Is.Not.Null);
            Assert.That((live.Duration, live.CancelledBy), Is.EqualTo(((TimeSpan?)null, (string?)null)));
            Assert.That((byId[large[0].ProcessId].Omitted, byId[large[^1].ProcessId].Omitted), Is.EqualTo((new[] { "result" }, Array.Empty<string>())),
                "the newest results get the budget first, the oldest go without");
            Assert.That(large.Select(r => byId[r.ProcessId]).Select(p => p.Result is null), Is.EqualTo(large.Select(r => byId[r.ProcessId].Omitted.Contains("result"))),
                "a result is missing exactly where the entry says it left it out");
            Assert.That((list.IsTruncated, list.Total), Is.EqualTo((false, (int?)null)), "a user's own list is whole");
            Assert.That(list.Retention, Is.EqualTo(new ProcessHub.Hub.HubOptions().Retention), "the hub's --retention");
        });
    }

    [Test]
    public async Task An_admins_bounded_list_says_it_is_truncated_and_how_many_there_are()
    {
        // docs/protocol.md 3.4: about 512 KiB of entries; 140 processes of 3.9 KB of progress each are more.
        await using var host = HubTestHost.Start();
        for (int i = 0; i < 140; i++)
        {
            host.App.Producer.Start("eval", "bob", total: 10).ReportProgress(1, 10, "GPT-4o", new string('d', 3_900));
        }

        await using var admin = new WatchedEvents(Watcher(host.App.LocalEndPoint, host.Token("root", admin: true)));
        var list = await admin.NextAsync<ProcessListed>();
        Assert.That((list.IsTruncated, list.Total), Is.EqualTo((true, (int?)140)));
        Assert.That(list.Processes, Has.Count.LessThan(140));
    }

    [Test]
    public async Task A_token_in_the_url_never_reaches_a_message_or_an_exception()
    {
        // The dev banner prints the URL with ?token=...; the library's own texts used to print it whole.
        const string Secret = "eyJ.not-for-any-log-line";
        var closedPort = UnusedPort.Get();
        await using (var events = new WatchedEvents(new HubWatcher(new HubWatcherOptions { Url = new Uri($"ws://{closedPort}/ws?token={Secret}"), Token = "also-sent-as-auth", MaxFailedAttempts = 2 })))
        {
            var refused = await events.NextAsync<HubDisconnected>();
            Assert.That(refused.ToString(), Does.Contain("token=***").And.Not.Contain(Secret));
            Assert.That(refused.Url.ToString(), Does.Contain("token=***").And.Not.Contain(Secret), "an event's URL is logged whole too");
            var gaveUp = Assert.ThrowsAsync<HubConnectionException>(async () => await events.MoveNextAsync());
            Assert.That(gaveUp!.Message, Does.Contain("token=***").And.Not.Contain(Secret));
        }

        await using var host = HubTestHost.Start();
        await using var wrongPath = new WatchedEvents(new HubWatcher(new HubWatcherOptions { Url = new Uri($"ws://{host.App.LocalEndPoint}/not-ws?token={Secret}"), Token = "also-sent-as-auth" }));
        var answered = Assert.ThrowsAsync<HubConnectionException>(async () => await wrongPath.MoveNextAsync());
        Assert.That(answered!.Message, Does.Contain("answered 404").And.Contain("token=***").And.Not.Contain(Secret));

        string valid = host.Token("alice");
        await using var connected = new WatchedEvents(new HubWatcher(new HubWatcherOptions { Url = new Uri($"ws://{host.App.LocalEndPoint}/ws?token={valid}"), Token = valid }));
        var opened = await connected.NextAsync<HubConnected>();
        Assert.That(opened.Url.ToString(), Does.Contain("token=***").And.Not.Contain(valid));
    }

    [Test]
    public async Task A_hub_that_closes_each_connection_soon_after_its_list_is_retried_ever_more_slowly()
    {
        // docs/protocol.md 5.2 step 6. The backoff used to start over at each process_list, so a connection closed
        // right after it (here 1008: the resume's subscribes exceed a rate limit of 5) came back at the shortest
        // delay for ever.
        await using var host = HubTestHost.Start(new HubOptions { MessageRateLimit = 5 });
        await using var front = CuttableProxy.Start(host.App.LocalEndPoint);
        var runs = Enumerable.Range(0, 20).Select(_ => host.App.Producer.Start("export", "alice", total: 10)).ToList();
        await using var events = new WatchedEvents(new HubWatcher(new HubWatcherOptions
        {
            Url = new Uri($"ws://127.0.0.1:{front.Port}/ws"),
            Token = host.Token("alice"),
            MinReconnectDelay = TimeSpan.FromMilliseconds(50),
            MaxReconnectDelay = TimeSpan.FromSeconds(30), // far above where this test goes: no delay is capped
            // Counts attempts that failed to connect: these all connect (and get a list), so it never runs out.
            MaxFailedAttempts = 5,
        }));
        await events.NextAsync<ProcessListed>();

        front.Refuse = true;
        await front.CutAllAsync();
        await events.NextAsync<HubDisconnected>();
        foreach (var run in runs)
        {
            run.ReportProgress(1, 10); // each moved on while away: the reconnect resumes all 20
        }
        front.Refuse = false;

        var delays = new List<TimeSpan>();
        while (delays.Count < 5)
        {
            var dropped = await events.NextAsync<HubDisconnected>();
            if (dropped is { WasConnected: true, CloseStatus: 1008 })
            {
                delays.Add(dropped.RetryIn!.Value);
            }
        }
        // Each doubles the one before, shortened by at most a fifth by the jitter: the third is at least 3.2 times the
        // first. Started over at each list, all were the shortest delay. Five drops, and the watch goes on.
        Assert.That(delays[2], Is.GreaterThan(delays[0] * 2), string.Join(", ", delays));
    }

    [Test]
    public async Task A_rejected_token_ends_the_watch_with_4401_when_there_is_no_token_provider()
    {
        await using var host = HubTestHost.Start();
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, "not-a-jwt"));

        var rejected = Assert.ThrowsAsync<HubConnectionException>(async () => await events.MoveNextAsync());
        Assert.That(rejected!.CloseStatus, Is.EqualTo(4401));
        Assert.That(rejected.Message, Does.StartWith("the hub rejected the token (4401"));
        Assert.That(rejected.CloseReason, Is.EqualTo("invalid token"));
    }

    [Test]
    public async Task A_token_provider_gets_another_chance_after_4401_but_not_with_the_same_token()
    {
        await using var host = HubTestHost.Start();
        var tokens = new Queue<string>(["not-a-jwt", host.Token("alice"), "still-not-a-jwt", "still-not-a-jwt"]);
        await using var events = new WatchedEvents(Watcher(host.App.LocalEndPoint, provider: _ => ValueTask.FromResult(tokens.Dequeue())));

        var rejected = await events.NextAsync<HubDisconnected>();
        Assert.That(rejected.CloseStatus, Is.EqualTo(4401));
        Assert.That(rejected.RetryIn, Is.Not.Null);
        await events.NextAsync<HubConnected>();
        await events.NextAsync<ProcessListed>();

        // Drop it; the provider now hands out a bad token, and then the same one again.
        foreach (var session in host.App.Sessions.ForUser("alice"))
        {
            session.Connection.Close(CloseCode.GoingAway, "going away");
        }
        await events.NextAsync<HubDisconnected>(d => d.CloseStatus == 1001);
        await events.NextAsync<HubDisconnected>(d => d.CloseStatus == 4401);
        var gaveUp = Assert.ThrowsAsync<HubConnectionException>(async () => await events.MoveNextAsync());
        Assert.That(gaveUp!.Message, Does.Contain("the same one again"));
        // The hub's reason is said, as when there is no provider (it was "4401" alone).
        Assert.That(gaveUp.Message, Does.StartWith("the hub rejected the token (4401 invalid token)"));
        Assert.That((gaveUp.CloseStatus, gaveUp.CloseReason), Is.EqualTo(((int?)4401, "invalid token")));
    }
}
