using System.Net.Http.Headers;
using NUnit.Framework;
using ProcessHub.Client;
using ProcessState = ProcessHub.Client.ProcessState;
using ProcessHub.Client.Internal;

namespace ProcessHub.Tests.Client;

/// <summary>The client library's pure parts: reconnect delays, Retry-After, message parsing, and the seq bookkeeping behind resume.</summary>
[TestFixture]
[Category("unit")]
public sealed class ClientUnitTests
{
    [Test]
    public void Backoff_doubles_from_the_minimum_up_to_the_maximum_without_jitter()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), jitter: 0.2, random: () => 0);
        var delays = Enumerable.Range(0, 6).Select(n => backoff.Delay(n).TotalSeconds);
        Assert.That(delays, Is.EqualTo(new[] { 1.0, 2, 4, 8, 10, 10 }));
    }

    [Test]
    public void Jitter_shortens_a_delay_by_at_most_its_share()
    {
        var longest = new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), jitter: 0.25, random: () => 0);
        var shortest = new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), jitter: 0.25, random: () => 1);
        Assert.That(longest.Delay(1), Is.EqualTo(TimeSpan.FromSeconds(4)));
        Assert.That(shortest.Delay(1), Is.EqualTo(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public void Retry_After_is_read_as_seconds_or_as_a_date_and_capped()
    {
        var now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        var max = TimeSpan.FromSeconds(30);
        Assert.Multiple(() =>
        {
            Assert.That(RetryDelay.For(new RetryConditionHeaderValue(TimeSpan.FromSeconds(3)), 0, max, now), Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(RetryDelay.For(new RetryConditionHeaderValue(now.AddSeconds(7)), 0, max, now), Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(RetryDelay.For(new RetryConditionHeaderValue(now.AddSeconds(-7)), 0, max, now), Is.EqualTo(TimeSpan.Zero), "a date in the past: now");
            Assert.That(RetryDelay.For(new RetryConditionHeaderValue(TimeSpan.FromHours(1)), 0, max, now), Is.EqualTo(max));
            Assert.That(RetryDelay.For(null, 0, max, now), Is.EqualTo(TimeSpan.FromMilliseconds(500)), "no header: a short backoff");
            Assert.That(RetryDelay.For(null, 2, max, now), Is.EqualTo(TimeSpan.FromSeconds(2)));
        });
    }

    [TestCase(1000, "End")]
    [TestCase(1001, "Reconnect")]
    [TestCase(1006, "Reconnect")]
    [TestCase(1011, "Reconnect")]
    [TestCase(1013, "Reconnect")]
    [TestCase(4429, "Reconnect")]
    [TestCase(4401, "Reauthenticate")]
    [TestCase(4403, "GiveUp")]
    [TestCase(1002, "GiveUp")]
    [TestCase(1003, "GiveUp")]
    [TestCase(1007, "GiveUp")]
    [TestCase(1009, "GiveUp")]
    public void Close_codes_map_to_what_a_client_does(int code, string action) =>
        Assert.That(ClosePolicy.For(code).ToString(), Is.EqualTo(action));

    [Test]
    public void A_process_list_parses_into_typed_entries()
    {
        var list = (ProcessListed)HubEvent.Parse("""
            {"type":"process_list","epoch":"e1","processes":[
              {"process_id":"a","process_type":"benchmark","status":"running","owner":"dev","progress":{"current":5,"total":12,"model":"GPT-4o","detail":"Run 2/3","fps":3},"seq":6,"started_at":"2026-02-17T14:29:50.001Z"},
              {"process_id":"b","process_type":"eval","status":"failed","owner":"dev","progress":{"current":1,"total":3},"seq":3,"started_at":"2026-02-17T14:29:50.001Z","ended_at":"2026-02-17T14:30:00.000Z","error":{"message":"GPU lost","code":"oom"}}
            ],"timestamp":"2026-02-17T14:30:00.123Z"}
            """);
        Assert.Multiple(() =>
        {
            Assert.That(list.Epoch, Is.EqualTo("e1"));
            Assert.That(list.Processes.Select(p => p.Status), Is.EqualTo(new[] { ProcessState.Running, ProcessState.Failed }));
            Assert.That(list.Processes[0].Progress.Model, Is.EqualTo("GPT-4o"));
            Assert.That(list.Processes[0].Progress.Json.GetProperty("fps").GetInt32(), Is.EqualTo(3), "fields of the producer's own, kept");
            Assert.That(list.Processes[0].EndedAt, Is.Null);
            Assert.That((list.Processes[1].ErrorMessage, list.Processes[1].ErrorCode), Is.EqualTo(("GPU lost", "oom")));
            Assert.That(list.Timestamp, Is.EqualTo(new DateTimeOffset(2026, 2, 17, 14, 30, 0, 123, TimeSpan.Zero)));
        });
    }

    [Test]
    public void Messages_this_version_does_not_model_or_that_lack_their_fields_stay_readable()
    {
        var future = HubEvent.Parse("""{"type":"process_paused","process_id":"a","seq":4}""");
        var broken = HubEvent.Parse("""{"type":"process_progress","progress":{"current":1}}""");
        Assert.That(future, Is.TypeOf<UnknownHubMessage>().With.Property("Type").EqualTo("process_paused"));
        Assert.That(broken, Is.TypeOf<UnknownHubMessage>(), "no process_id or seq: not a usable event");
        Assert.That(future.RawJson, Is.EqualTo("""{"type":"process_paused","process_id":"a","seq":4}"""));
    }

    [Test]
    public void Cursors_drop_what_was_already_given_and_plan_the_resume_of_running_processes()
    {
        var cursors = new ProcessCursors();
        cursors.Reset(List("e", ("a", "running", 3), ("b", "running", 2), ("c", "completed", 5)));
        Assert.That(cursors.Accept(Progress("a", 3)), Is.False, "covered by the list");
        Assert.That(cursors.Accept(Progress("a", 4)), Is.True);
        Assert.That(cursors.Accept(Progress("a", 4)), Is.False, "a duplicate");

        // Reconnected in the same epoch: a moved on to 9, b did not move, c had ended, d is new.
        var plan = cursors.PlanResume(List("e", ("a", "running", 9), ("b", "running", 2), ("c", "completed", 5), ("d", "running", 1)), limit: 10, out bool complete);
        // d started while away: its events from the first (an audit found them never given, with Recovered true).
        Assert.That(plan, Is.EqualTo(new[] { new ResumeTarget("a", 4, 9), new ResumeTarget("d", 0, 1) }));
        Assert.That(complete, Is.True);

        // b is gone from the list (ended and evicted): it cannot be resumed.
        cursors.PlanResume(List("e", ("a", "running", 9)), limit: 10, out complete);
        Assert.That(complete, Is.False);
    }

    [Test]
    public void A_4401_for_an_expired_token_that_crossed_a_refresh_names_the_token_before_it()
    {
        // From a review: the hub closed for the old token while the refresh went out; naming the fresh (valid) token
        // as rejected made the next connection with it a give-up.
        string Jwt(long exp) => "eyJhbGciOiJIUzI1NiJ9." + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($$"""{"exp":{{exp}}}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_') + ".sig";
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var token = new ConnectionToken(Jwt(now - 1));
        string fresh = Jwt(now + 3600);
        token.Replace(fresh);
        Assert.That(token.Rejected("token expired"), Is.EqualTo(Jwt(now - 1)), "the close was about the one before");
        Assert.That(token.Rejected("invalid signature"), Is.EqualTo(fresh), "any other 4401 is about the token in use");
        Assert.That(new ConnectionToken(fresh).Rejected("token expired"), Is.EqualTo(fresh), "no refresh: the one in use");
    }

    [Test]
    public void A_process_missing_from_a_list_and_listed_again_further_on_is_resumed_from_its_last_seq_not_skipped()
    {
        // From a review: a known process a failover's hub (behind) did not list was skipped at the next reconnect even
        // when listed there further on, and its cursor then moved to the listed seq: those events never came.
        var cursors = new ProcessCursors();
        cursors.Reset(List("e", ("p", "running", 5)));
        cursors.ApplyList(List("e")); // a hub behind: p missing once
        var plan = cursors.PlanResume(List("e", ("p", "running", 20)), limit: 10, out bool complete);
        Assert.That((plan.Single(), complete), Is.EqualTo((new ResumeTarget("p", 5, 20), true)));
    }

    [Test]
    public void A_process_forgotten_after_two_lists_and_listed_again_resumes_from_the_seq_given_not_from_its_first()
    {
        // From a review: forgotten, then listed again (an admin's bounded list), it was replayed from since 0, and
        // the consumer got events it already had.
        var cursors = new ProcessCursors();
        cursors.Reset(List("e", ("q", "running", 7)));
        cursors.ApplyList(List("e"));
        cursors.ApplyList(List("e")); // missing twice: forgotten
        var plan = cursors.PlanResume(List("e", ("q", "failed", 9), ("n", "running", 3)), limit: 10, out bool complete);
        Assert.That((plan, complete), Is.EqualTo((new[] { new ResumeTarget("q", 7, 9), new ResumeTarget("n", 0, 3) }, true)));
        // The replay comes before the list is applied (as the watch loop does): what was given is not given again.
        Assert.That(new[] { cursors.Accept(Progress("q", 7)), cursors.Accept(Progress("q", 8)) }, Is.EqualTo(new[] { false, true }));
    }

    [Test]
    public void A_process_unknown_to_the_watcher_that_started_before_its_last_list_is_not_replayed_from_its_first_event()
    {
        // From a review: an admin's bounded list leaves older ended processes out; listed later (room freed), they
        // were replayed whole, failures from before the watch began among them.
        var cursors = new ProcessCursors();
        cursors.Reset(ListAt("e", "2026-12-02T10:00:00Z"));
        var plan = cursors.PlanResume(ListAt("e", "2026-12-02T10:05:00Z", ("old", "failed", 3, "2026-12-02T09:00:00Z"), ("new", "running", 2, "2026-12-02T10:01:00Z")), limit: 10, out bool complete);
        Assert.That((plan.Single(), complete), Is.EqualTo((new ResumeTarget("new", 0, 2), true)));
    }

    [Test]
    public void A_new_epoch_forgets_what_was_remembered_of_processes_out_of_view()
    {
        var cursors = new ProcessCursors();
        cursors.Reset(List("e", ("a", "running", 7)));
        cursors.ApplyList(List("e"));
        cursors.ApplyList(List("e"));
        Assert.That(cursors.Accept(Progress("a", 2)), Is.False, "remembered within the epoch");
        cursors.Reset(List("f"));
        Assert.That(cursors.Accept(Progress("a", 2)), Is.True, "a new epoch's seqs owe nothing to the old one's");
    }

    [Test]
    public void Processes_new_to_the_watcher_are_replayed_whole_only_within_an_event_budget()
    {
        var cursors = new ProcessCursors();
        cursors.Reset(List("e"));
        var plan = cursors.PlanResume(List("e", ("small", "running", 1500), ("large", "running", 1000), ("tiny", "completed", 3)), limit: 50, out bool complete);
        Assert.That(plan.Select(t => t.ProcessId), Is.EqualTo(new[] { "small", "tiny" }), "2,000 events at most from the first");
        Assert.That(complete, Is.False, "one was not resumed");
    }

    [TestCase("not a token")]
    [TestCase("a.b.c")]
    [TestCase("eyJhbGciOiJIUzI1NiJ9.WzFd.sig")] // a payload that is an array
    [TestCase("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiJzb29uIn0.sig")] // exp as a string
    [TestCase("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTk5OX0.sig")] // exp past what a date can hold
    public void A_token_whose_expiry_cannot_be_read_has_none_and_is_not_refreshed(string token) =>
        Assert.That(TokenExpiry.Of(token), Is.Null);

    [Test]
    public void A_tokens_expiry_is_read_from_its_exp() =>
        Assert.That(TokenExpiry.Of("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTc5NjA4MzIwMH0.sig"), Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds(1796083200)));

    [Test]
    public void A_string_that_is_no_valid_Unicode_is_read_with_a_replacement_character_and_never_throws()
    {
        // A hub before 2026-12-01 forwarded a worker's progress text cut inside an emoji; reading it threw, and the
        // exception ended the watch (and every later one, as each list held the process).
        var progress = (ProcessProgress)HubEvent.Parse("""{"type":"process_progress","process_id":"a","process_type":"t","seq":2,"progress":{"current":1,"total":2,"model":"\ude00 \ud83d\ude80","detail":"cut \ud83d"}}""");
        Assert.That((progress.Progress.Model, progress.Progress.Detail), Is.EqualTo(("\uFFFD 🚀", "cut \uFFFD")));
        var list = (ProcessListed)HubEvent.Parse("""{"type":"process_list","epoch":"e","processes":[{"process_id":"a","process_type":"t\ud800","status":"running","owner":"o","progress":{"current":0,"total":1,"detail":"\n\t\"\\\/ \ud83d"},"seq":1}]}""");
        Assert.That((list.Processes[0].ProcessType, list.Processes[0].Progress.Detail), Is.EqualTo(("t\uFFFD", "\n\t\"\\/ \uFFFD")));
    }

    [TestCase("5", "5")]
    [TestCase("true", "true")]
    [TestCase("""{ "shard": 3,  "of": [1, 2] }""", """{"shard":3,"of":[1,2]}""")]
    [TestCase("\"é 🚀\"", "é 🚀")]
    [TestCase("null", null)]
    public void A_model_or_detail_that_is_not_a_string_is_shown_as_its_JSON_as_the_page_shows_it(string sent, string? shown)
    {
        // The hub keeps progress fields as sent; read as strings only, "detail": 5 was nothing in watch, 5 on the page.
        var progress = (ProcessProgress)HubEvent.Parse($$$"""{"type":"process_progress","process_id":"a","process_type":"t","seq":2,"progress":{"current":1,"total":2,"model":{{{sent}}},"detail":{{{sent}}}}}""");
        Assert.That((progress.Progress.Model, progress.Progress.Detail), Is.EqualTo((shown, shown)));
    }

    [Test]
    public void A_list_entry_older_than_what_was_given_does_not_make_an_ended_process_running_again()
    {
        var cursors = new ProcessCursors();
        cursors.Reset(List("e", ("a", "running", 1)));
        Assert.That(cursors.Accept(Completed("a", 2)), Is.True);

        // A hub that is behind lists it as running at seq 1; its catch-up event is then a duplicate.
        cursors.ApplyList(List("e", ("a", "running", 1)));
        Assert.That(cursors.Accept(Completed("a", 2)), Is.False);

        // Evicted later: an ended process missing from a list is no loss, so the resume is complete.
        cursors.PlanResume(List("e"), limit: 10, out bool complete);
        Assert.That(complete, Is.True, "a was known ended; the older entry must not have made it running");
    }

    [Test]
    public void A_process_missing_from_a_list_in_the_same_epoch_is_not_passed_on_twice_when_that_hub_catches_up()
    {
        var cursors = new ProcessCursors();
        cursors.Reset(List("e", ("a", "running", 1)));
        Assert.That(cursors.Accept(Progress("a", 2)), Is.True);
        Assert.That(cursors.Accept(Completed("a", 3)), Is.True);

        // A hub that is behind does not list it yet; once caught up it sends its events, which were all given.
        cursors.ApplyList(List("e"));
        Assert.That(new[] { cursors.Accept(Progress("a", 2)), cursors.Accept(Completed("a", 3)) }, Is.EqualTo(new[] { false, false }));

        // Missing from the next list too: gone, and forgotten, but its last seq is remembered (a bounded number of
        // them): should it come back into view, what was given is still not given again.
        cursors.ApplyList(List("e"));
        Assert.That(new[] { cursors.Accept(Progress("a", 1)), cursors.Accept(Progress("a", 4)) }, Is.EqualTo(new[] { false, true }));
    }

    private static ProcessListed List(string epoch, params (string Id, string Status, long Seq)[] processes)
    {
        var entries = processes.Select(p =>
            $"{{\"process_id\":\"{p.Id}\",\"process_type\":\"t\",\"status\":\"{p.Status}\",\"owner\":\"o\",\"progress\":{{\"current\":0,\"total\":1}},\"seq\":{p.Seq}}}");
        return (ProcessListed)HubEvent.Parse($"{{\"type\":\"process_list\",\"epoch\":\"{epoch}\",\"processes\":[{string.Join(",", entries)}]}}");
    }

    private static ProcessListed ListAt(string epoch, string timestamp, params (string Id, string Status, long Seq, string StartedAt)[] processes)
    {
        var entries = processes.Select(p =>
            $"{{\"process_id\":\"{p.Id}\",\"process_type\":\"t\",\"status\":\"{p.Status}\",\"owner\":\"o\",\"progress\":{{\"current\":0,\"total\":1}},\"seq\":{p.Seq},\"started_at\":\"{p.StartedAt}\"}}");
        return (ProcessListed)HubEvent.Parse($"{{\"type\":\"process_list\",\"epoch\":\"{epoch}\",\"processes\":[{string.Join(",", entries)}],\"timestamp\":\"{timestamp}\"}}");
    }

    private static ProcessEvent Progress(string id, long seq) =>
        (ProcessEvent)HubEvent.Parse($"{{\"type\":\"process_progress\",\"process_id\":\"{id}\",\"process_type\":\"t\",\"seq\":{seq},\"progress\":{{\"current\":1,\"total\":2}}}}");

    private static ProcessEvent Completed(string id, long seq) =>
        (ProcessEvent)HubEvent.Parse($"{{\"type\":\"process_completed\",\"process_id\":\"{id}\",\"process_type\":\"t\",\"seq\":{seq}}}");
}
