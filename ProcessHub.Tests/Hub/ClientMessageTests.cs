using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Hub;

/// <summary>
/// docs/protocol.md section 4: every client message and every error code, each reply echoing <c>request_id</c>, and the
/// connection surviving every error that is not a policy violation.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class ClientMessageTests
{
    [Test]
    public async Task Ping_gets_pong_echoing_request_id()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendJsonAsync(new { type = "ping", request_id = "p-1" });
        var pong = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "ping" });
        var bare = await tab.ReceiveAsync();

        Assert.That((pong.Type, pong.String("request_id")), Is.EqualTo(("pong", "p-1")));
        Assert.That(pong.Has("timestamp"), Is.True);
        Assert.That((bare.Type, bare.Has("request_id")), Is.EqualTo(("pong", false)), "no request_id in, none out");
    }

    [TestCase("""{"type":""", null, "malformed JSON", TestName = "Bad_request_malformed_JSON")]
    [TestCase("""[{"type":"ping"}]""", null, "a message must be a JSON object", TestName = "Bad_request_an_array")]
    [TestCase("\"ping\"", null, "a message must be a JSON object", TestName = "Bad_request_a_string")]
    [TestCase("42", null, "a message must be a JSON object", TestName = "Bad_request_a_number")]
    [TestCase("""{"request_id":"r-1"}""", "r-1", "missing field: type", TestName = "Bad_request_missing_type")]
    [TestCase("""{"type":7,"request_id":"r-2"}""", "r-2", "type must be a string", TestName = "Bad_request_type_not_a_string")]
    [TestCase("""{"type":"cancel_process","request_id":"r-3"}""", "r-3", "missing field: process_id", TestName = "Bad_request_cancel_without_process_id")]
    [TestCase("""{"type":"subscribe","request_id":"r-4"}""", "r-4", "missing field: process_id", TestName = "Bad_request_subscribe_without_process_id")]
    [TestCase("""{"type":"unsubscribe","request_id":"r-5"}""", "r-5", "missing field: process_id", TestName = "Bad_request_unsubscribe_without_process_id")]
    [TestCase("""{"type":"cancel_process","process_id":"","request_id":"r-6"}""", "r-6", "missing field: process_id", TestName = "Bad_request_empty_process_id")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":-1,"request_id":"r-7"}""", "r-7", "since must be a non-negative integer", TestName = "Bad_request_negative_since")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":"5","request_id":"r-8"}""", "r-8", "since must be a non-negative integer", TestName = "Bad_request_since_not_a_number")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":3.0,"request_id":"r-8b"}""", "r-8b", "since must be a non-negative integer (3.0 has a decimal point or an exponent: send 3)", TestName = "Bad_request_since_written_as_a_float_says_what_to_send")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":1e2,"request_id":"r-8c"}""", "r-8c", "since must be a non-negative integer (1e2 has a decimal point or an exponent: send 100)", TestName = "Bad_request_since_with_an_exponent_says_what_to_send")]
    [TestCase("""{"type":"ping","a":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}""", null, "a message may nest at most 16 levels of objects and arrays", TestName = "Bad_request_nested_too_deep_says_so_not_malformed")]
    [TestCase("""{"request_id":"r-deep","type":"ping","a":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}""", "r-deep", "a message may nest at most 16 levels of objects and arrays", TestName = "Bad_request_nested_too_deep_says_back_its_request_id")]
    [TestCase("""{"type":"ping","a":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]],"request_id":"r-after"}""", "r-after", "a message may nest at most 16 levels of objects and arrays", TestName = "Bad_request_nested_too_deep_says_back_a_request_id_after_the_deep_part")]
    [TestCase("""{"request_id":"r-twice","type":"ping","type":"x","a":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}""", null, "a message may nest at most 16 levels of objects and arrays", TestName = "Bad_request_nested_too_deep_that_repeats_a_field_says_back_nothing")]
    [TestCase("""{"request_id":7,"type":"ping","a":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}""", null, "a message may nest at most 16 levels of objects and arrays", TestName = "Bad_request_nested_too_deep_with_a_request_id_that_is_no_string")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":3.0000000000000000001,"request_id":"r-8d"}""", "r-8d", "since must be a non-negative integer", TestName = "Bad_request_since_just_past_a_whole_number_gets_no_hint")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":1e-400,"request_id":"r-8e"}""", "r-8e", "since must be a non-negative integer", TestName = "Bad_request_since_a_tiny_fraction_gets_no_hint")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":-0.0,"request_id":"r-8f"}""", "r-8f", "since must be a non-negative integer (-0.0 has a decimal point or an exponent: send 0)", TestName = "Bad_request_since_minus_zero_says_send_0")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":9223372036854775807.0,"request_id":"r-8g"}""", "r-8g", "since must be a non-negative integer (9223372036854775807.0 has a decimal point or an exponent: send 9223372036854775807)", TestName = "Bad_request_since_the_largest_count_with_a_point_says_what_to_send")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":9.223372036854775808e18,"request_id":"r-8h"}""", "r-8h", "since must be a non-negative integer", TestName = "Bad_request_since_one_past_the_largest_count_gets_no_hint")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":1200e-2,"request_id":"r-8i"}""", "r-8i", "since must be a non-negative integer (1200e-2 has a decimal point or an exponent: send 12)", TestName = "Bad_request_since_with_a_negative_exponent_that_leaves_a_whole_number_says_what_to_send")]
    [TestCase("""{"type":"cancel_process","process_id":12,"request_id":"r-9"}""", "r-9", "process_id must be a string", TestName = "Bad_request_process_id_not_a_string")]
    [TestCase("""{"type":"subscribe","process_id":"x","since":1,"epoch":-1,"request_id":"r-10"}""", "r-10", "epoch must be a string", TestName = "Bad_request_epoch_not_a_string")]
    [TestCase("""{"type":"cancel_process","process_id":"a","process_id":"b","request_id":"r-11"}""", null, "process_id is given more than once", TestName = "Bad_request_process_id_twice")]
    [TestCase("""{"type":"ping","typ\u0065":"cancel_process"}""", null, "type is given more than once", TestName = "Bad_request_type_twice_once_escaped")]
    public async Task A_bad_request_gets_an_error_and_the_connection_stays(string message, string? requestId, string problem)
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendTextAsync(message);
        var error = await tab.ReceiveAsync();

        Assert.That(error.Type, Is.EqualTo("error"));
        Assert.That(error.String("code"), Is.EqualTo("bad_request"));
        Assert.That(error.String("message"), Is.EqualTo(problem));
        Assert.That(error.String("request_id"), Is.EqualTo(requestId));
        Assert.That(error.Has("process_id"), Is.False, "a bad_request says back nothing of the message but its request_id (docs/protocol.md 3.8)");
        await tab.SendJsonAsync(new { type = "ping", request_id = "still-there" });
        var pong = await tab.ReceiveAsync();
        Assert.That((pong.Type, pong.String("request_id")), Is.EqualTo(("pong", "still-there")));
    }

    [TestCase(257)]
    [TestCase(5000)]
    public async Task A_message_nested_far_deeper_than_the_limit_is_still_told_so_not_malformed(int depth)
    {
        // The look that tells nesting from a syntax error had a depth limit of its own (256): past it, well-formed
        // messages were "malformed JSON" (found by a black-box audit).
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendTextAsync($$"""{"request_id":"r-far","type":"ping","a":{{new string('[', depth - 1)}}{{new string(']', depth - 1)}}}""");
        var error = await tab.ReceiveAsync();

        Assert.That((error.Type, error.String("code"), error.String("request_id")), Is.EqualTo(("error", "bad_request", "r-far")), error.Text);
        Assert.That(error.String("message"), Is.EqualTo("a message may nest at most 16 levels of objects and arrays"));
    }

    [TestCase("""{"type":"ping","request_id":"t-1"} GARBAGE""", TestName = "Trailing_garbage_after_a_ping_is_a_bad_request")]
    [TestCase("""{"type":"ping","request_id":"t-1"}{"type":"ping"}""", TestName = "A_second_JSON_value_after_a_ping_is_a_bad_request")]
    [TestCase("""{"type":"ping","request_id":"t-1"}]""", TestName = "A_stray_bracket_after_a_ping_is_a_bad_request")]
    public async Task Data_after_the_JSON_object_is_a_bad_request_not_a_pong(string message)
    {
        // The HTTP API refuses a body with trailing data; the WebSocket must read a message the same way.
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendTextAsync(message);
        var reply = await tab.ReceiveAsync();

        Assert.That((reply.Type, reply.String("code")), Is.EqualTo(("error", "bad_request")), reply.ToString());
        Assert.That(reply.String("message"), Is.EqualTo("unexpected data after the JSON object"));
        Assert.That(reply.String("request_id"), Is.EqualTo("t-1"), "the object itself was readable, so its request_id is echoed");
    }

    [Test]
    public async Task A_cancel_followed_by_garbage_is_not_executed()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);
        await tab.ReceiveUntilAsync(m => m.Type == "process_started" && m.ProcessId == run.ProcessId);

        await tab.SendTextAsync($$"""{"type":"cancel_process","process_id":"{{run.ProcessId}}","request_id":"c-9"} GARBAGE""");
        var reply = await tab.ReceiveAsync();

        Assert.That((reply.Type, reply.String("code"), reply.String("request_id")), Is.EqualTo(("error", "bad_request", "c-9")), reply.ToString());
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty, "no process_cancelled follows");
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.False, "the process was not cancelled");
    }

    [Test]
    public async Task Whitespace_after_the_JSON_object_is_allowed()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendTextAsync("{\"type\":\"ping\",\"request_id\":\"w-1\"} \r\n\t ");
        var pong = await tab.ReceiveAsync();

        Assert.That((pong.Type, pong.String("request_id")), Is.EqualTo(("pong", "w-1")), "RFC 8259 2: whitespace may follow a value");
    }

    [Test]
    public async Task An_unknown_type_gets_unknown_type_and_the_connection_stays()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendJsonAsync(new { type = "launch_missiles", request_id = "u-1" });
        var error = await tab.ReceiveAsync();

        Assert.That((error.Type, error.String("code"), error.String("request_id")), Is.EqualTo(("error", "unknown_type", "u-1")));
        Assert.That(error.String("message"), Does.Contain("launch_missiles"));
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty);
    }

    [TestCase("cancel_process")]
    [TestCase("subscribe")]
    [TestCase("unsubscribe")]
    public async Task An_unknown_process_is_not_found(string type)
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendJsonAsync(new { type, process_id = "no-such-process", request_id = "n-1" });
        var error = await tab.ReceiveAsync();

        Assert.That((error.Type, error.String("code")), Is.EqualTo(("error", "not_found")));
        Assert.That((error.String("request_id"), error.ProcessId), Is.EqualTo(("n-1", "no-such-process")));
        Assert.That(await HubTestHost.DrainWithPingAsync(tab), Is.Empty);
    }

    [TestCase("cancel_process")]
    [TestCase("subscribe")]
    [TestCase("unsubscribe")]
    public async Task Another_users_process_is_forbidden(string type)
    {
        await using var host = HubTestHost.Start();
        await using var bob = await host.OpenTabAsync("bob");
        var run = host.App.Producer.Start("benchmark", "alice", total: 5);

        await bob.SendJsonAsync(new { type, process_id = run.ProcessId, request_id = "f-1" });
        var error = await bob.ReceiveAsync();

        Assert.That((error.Type, error.String("code")), Is.EqualTo(("error", "forbidden")));
        Assert.That((error.String("request_id"), error.ProcessId), Is.EqualTo(("f-1", run.ProcessId)));
        run.ReportProgress(1, 5);
        Assert.That(await HubTestHost.DrainWithPingAsync(bob), Is.Empty, "a refused subscribe gives bob no events");
    }

    [Test]
    public async Task Cancelling_an_ended_process_is_a_conflict()
    {
        await using var host = HubTestHost.Start();
        await using var tab = await host.OpenTabAsync("alice");
        var completed = host.App.Producer.Start("benchmark", "alice");
        completed.Complete();
        var failed = host.App.Producer.Start("benchmark", "alice");
        failed.Fail("boom");
        var cancelled = host.App.Producer.Start("benchmark", "alice");

        await tab.SendJsonAsync(new { type = "cancel_process", process_id = cancelled.ProcessId, request_id = "c-0" });
        await tab.ReceiveUntilAsync(m => m.Type == "process_cancelled" && m.ProcessId == cancelled.ProcessId);
        foreach (var (run, requestId) in new[] { (completed, "c-1"), (failed, "c-2"), (cancelled, "c-3") })
        {
            await tab.SendJsonAsync(new { type = "cancel_process", process_id = run.ProcessId, request_id = requestId });
            var error = await tab.ReceiveUntilAsync("error");
            Assert.That((error.String("code"), error.String("request_id"), error.ProcessId), Is.EqualTo(("conflict", requestId, run.ProcessId)));
        }
        Assert.That(completed.CancellationToken.IsCancellationRequested, Is.False, "a completed process is not cancelled after the fact");
    }

    [Test]
    public async Task Past_the_rate_limit_messages_get_rate_limited_and_the_connection_stays()
    {
        // One message a second: the second of two back-to-back messages is over the limit, but one refusal is not
        // yet a violation. The bucket refills on the hub's clock, a fake one standing still: "back to back" holds
        // however slow the machine.
        await using var host = HubTestHost.Start(new HubOptions { MessageRateLimit = 1 }, fakeTime: true);
        await using var tab = await host.OpenTabAsync("alice");

        await tab.SendJsonAsync(new { type = "ping", request_id = "first" });
        await tab.SendJsonAsync(new { type = "ping", request_id = "second" });
        var pong = await tab.ReceiveAsync();
        var refused = await tab.ReceiveAsync();

        Assert.That((pong.Type, pong.String("request_id")), Is.EqualTo(("pong", "first")));
        Assert.That((refused.Type, refused.String("code")), Is.EqualTo(("error", "rate_limited")));
        Assert.That(refused.String("request_id"), Is.EqualTo("second"), "the refusal names the request it refused");
        var run = host.App.Producer.Start("benchmark", "alice");
        Assert.That((await tab.ReceiveAsync()).ProcessId, Is.EqualTo(run.ProcessId), "the connection is still open");
    }

    [Test]
    public async Task A_client_that_keeps_going_past_the_rate_limit_is_closed_with_1008()
    {
        await using var host = HubTestHost.Start(new HubOptions { MessageRateLimit = 5 }, fakeTime: true);
        await using var tab = await host.OpenTabAsync("alice");

        const int burst = 40;
        for (int i = 0; i < burst; i++)
        {
            await tab.SendJsonAsync(new { type = "ping", request_id = $"r{i}" });
        }
        var replies = new List<HubMessage>();
        var (status, description) = await tab.ReceiveCloseAsync(replies);

        Assert.That((status, description), Is.EqualTo((1008, "rate limit exceeded")));
        int pongs = replies.TakeWhile(m => m.Type == "pong").Count();
        Assert.That(pongs, Is.GreaterThanOrEqualTo(1), "the burst allowance was honoured");
        var refusals = replies.Skip(pongs).ToList();
        Assert.That(refusals, Is.Not.Empty);
        Assert.That(refusals.Select(m => m.String("code")), Is.All.EqualTo("rate_limited"));
        Assert.That(replies.Select(m => m.String("request_id")), Is.EqualTo(Enumerable.Range(0, replies.Count).Select(i => $"r{i}")),
            "one reply per message, in order, each echoing its request_id");
        Assert.That(replies, Has.Count.LessThan(burst), "the close came before the burst was through");
    }

    [Test]
    public async Task A_client_steadily_half_again_over_the_rate_limit_is_closed_with_1008()
    {
        // The contract: past the limit, rate_limited, "then close 1008 if it goes on". Counting refusals in a row let a
        // steady overrun go on for good: every accepted message reset the count. Each round is one second on the hub's
        // fake clock: 15 messages against a rate of 10.
        await using var host = HubTestHost.Start(new HubOptions { MessageRateLimit = 10 }, fakeTime: true);
        await using var tab = await host.OpenTabAsync("alice");

        var rounds = new List<(int Pongs, int Refusals)>();
        (int Status, string? Description)? closed = null;
        for (int round = 0; round < 10 && closed is null; round++)
        {
            for (int i = 0; i < 15; i++)
            {
                await tab.SendJsonAsync(new { type = "ping", request_id = $"r{round}-{i}" });
            }
            int pongs = 0, refusals = 0;
            for (int i = 0; i < 15; i++)
            {
                var reply = await tab.ReceiveOrCloseAsync(null);
                if (reply is null)
                {
                    closed = (tab.CloseStatus!.Value, tab.CloseDescription);
                    break;
                }
                if (reply.Type == "pong")
                {
                    pongs++;
                }
                else if (reply.String("code") == "rate_limited")
                {
                    refusals++;
                }
            }
            rounds.Add((pongs, refusals));
            host.Time!.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(rounds[0], Is.EqualTo((10, 5)), "the first second: the rate, then refusals, and still open");
        Assert.That(closed, Is.EqualTo(((int Status, string? Description)?)(1008, "rate limit exceeded")), string.Join(", ", rounds));
        Assert.That(rounds, Has.Count.EqualTo(3), "the allowance of 10 refusals, back at 1 a second, spent 5 a second: closed in the third");
    }

    [Test]
    public async Task A_client_a_little_over_the_rate_limit_gets_a_refusal_now_and_then_and_stays()
    {
        // 11 messages a second against a rate of 10: one refusal a second, which the allowance takes back (a tenth of
        // the rate a second). Twenty seconds on the hub's fake clock, then the connection still answers.
        await using var host = HubTestHost.Start(new HubOptions { MessageRateLimit = 10 }, fakeTime: true);
        await using var tab = await host.OpenTabAsync("alice");

        int refusals = 0;
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < 11; i++)
            {
                await tab.SendJsonAsync(new { type = "ping", request_id = $"r{round}-{i}" });
            }
            for (int i = 0; i < 11; i++)
            {
                var reply = await tab.ReceiveAsync();
                refusals += reply.String("code") == "rate_limited" ? 1 : 0;
            }
            host.Time!.Advance(TimeSpan.FromSeconds(1));
        }
        await tab.SendJsonAsync(new { type = "ping", request_id = "last" });

        Assert.That((await tab.ReceiveAsync()).String("request_id"), Is.EqualTo("last"), "still open after 20 s at 1.1 times the rate");
        Assert.That(refusals, Is.EqualTo(20), "one refusal a second: the bucket allows 10 of each 11");
    }
}
