using System.Text.Json;
using NUnit.Framework;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Hardening;

/// <summary>
/// Issue 13, items 1 and 3: every string or object a client can make the hub keep or say back has a size limit
/// (docs/protocol.md section 7.2). Before, <c>error.message</c>, <c>params</c> and <c>owner</c> had none (100 KB
/// error messages were accepted), and a client message's <c>request_id</c> was echoed whatever its length.
/// </summary>
[TestFixture]
[Category("socket")]
public sealed class SizeLimitTests
{
    private HubTestHost _host = null!;

    [OneTimeSetUp]
    public void Start() => _host = HubTestHost.Start();

    [OneTimeTearDown]
    public async Task Stop() => await _host.DisposeAsync();

    private System.Net.IPEndPoint EndPoint => _host.App.LocalEndPoint;

    [Test]
    public async Task An_error_message_over_4_KiB_is_400_and_the_process_keeps_running()
    {
        string token = _host.Token("fail-user");
        string id = await CreateAsync(token);
        string body = JsonSerializer.Serialize(new { error = new { message = new string('x', 100_000) } });

        var refused = await RawHttpClient.PostAsync(EndPoint, $"/api/processes/{id}/fail", token, body);
        var atLimit = await RawHttpClient.PostAsync(EndPoint, $"/api/processes/{id}/fail", token, JsonSerializer.Serialize(new { error = new { message = new string('é', 2048) } }));

        Assert.That(refused.Status, Is.EqualTo(400), refused.ToString());
        Assert.That(refused.ErrorMessage, Is.EqualTo("error.message is larger than 4096 bytes"));
        Assert.That(atLimit.Status, Is.EqualTo(200), "4,096 bytes of UTF-8 (2,048 two-byte characters) is allowed: " + atLimit);
    }

    [Test]
    public async Task An_error_code_over_64_characters_is_400()
    {
        string token = _host.Token("code-user");
        string id = await CreateAsync(token);

        var refused = await RawHttpClient.PostAsync(EndPoint, $"/api/processes/{id}/fail", token, JsonSerializer.Serialize(new { error = new { message = "m", code = new string('c', 65) } }));

        Assert.That(refused.Status, Is.EqualTo(400), refused.ToString());
        Assert.That(refused.ErrorMessage, Is.EqualTo("error.code must be at most 64 characters"));
        var process = await RawHttpClient.GetAsync(EndPoint, $"/api/processes/{id}", token);
        Assert.That(process.Json.GetProperty("status").GetString(), Is.EqualTo("running"));
    }

    [Test]
    public async Task Params_over_16_KiB_are_413()
    {
        string token = _host.Token("params-user");
        var refused = await RawHttpClient.PostAsync(EndPoint, "/api/processes", token, JsonSerializer.Serialize(new { process_type = "eval", @params = new { text = new string('p', 16 * 1024) } }));
        var accepted = await RawHttpClient.PostAsync(EndPoint, "/api/processes", token, JsonSerializer.Serialize(new { process_type = "eval", @params = new { text = new string('p', 16 * 1024 - 20) } }));

        Assert.That(refused.Status, Is.EqualTo(413), refused.ToString());
        Assert.That(refused.ErrorMessage, Is.EqualTo("params is larger than 16384 bytes"));
        Assert.That(accepted.Status, Is.EqualTo(201), accepted.ToString());
    }

    [Test]
    public async Task A_benchmark_body_over_the_params_limit_is_413_and_starts_nothing()
    {
        string token = _host.Token("bench-user");
        var models = Enumerable.Range(0, 200).Select(i => $"model-{i}-" + new string('m', 80)).ToArray();
        int before = _host.App.Registry.Count;

        var refused = await RawHttpClient.PostAsync(EndPoint, "/api/benchmark", token, JsonSerializer.Serialize(new { models, contexts = new[] { "1K" }, step_ms = 0 }));

        Assert.That(refused.Status, Is.EqualTo(413), refused.ToString());
        Assert.That(refused.ErrorMessage, Does.Contain("params is larger than 16384 bytes"));
        Assert.That(_host.App.Registry.Count, Is.EqualTo(before));
    }

    [Test]
    public async Task An_owner_over_256_bytes_is_400()
    {
        string producer = _host.App.Tokens.Issue("owner-producer", ["producer"], TimeSpan.FromMinutes(5));

        var refused = await RawHttpClient.PostAsync(EndPoint, "/api/processes", producer, JsonSerializer.Serialize(new { process_type = "eval", owner = new string('o', 257) }));

        Assert.That(refused.Status, Is.EqualTo(400), refused.ToString());
        Assert.That(refused.ErrorMessage, Is.EqualTo("owner must be a string of at most 256 bytes"));
    }

    [Test]
    public void The_in_process_API_refuses_the_same_sizes()
    {
        var producer = _host.App.Producer;
        Assert.Throws<ArgumentException>(() => producer.Start(new string('t', 65), "inproc"), "process_type");
        Assert.Throws<ArgumentException>(() => producer.Start("eval", new string('o', 257)), "owner");
        Assert.Throws<ArgumentException>(() => producer.Start("eval", "inproc", parameters: new { text = new string('p', 17 * 1024) }), "params");
        var run = producer.Start("eval", "inproc");
        Assert.Throws<ArgumentException>(() => run.ReportProgress(1, 2, "m", new string('d', 5000)), "detail");
        Assert.Throws<ArgumentException>(() => run.Fail(new string('x', 5000)), "error message");
        Assert.Throws<ArgumentException>(() => run.Fail("m", new string('c', 65)), "error code");
        // What HTTP refuses as "error.code must be a non-empty string", and a cancel by nobody (no cancelled_by went out).
        Assert.Throws<ArgumentException>(() => run.Fail("m", " "), "a blank error code");
        Assert.Throws<ArgumentException>(() => run.Fail("m", ""), "an empty error code");
        Assert.Throws<ArgumentNullException>(() => run.Cancel(null!), "a cancel by no one");
        Assert.Throws<ArgumentException>(() => run.Cancel(""), "a cancel by an empty name");
        Assert.Throws<ArgumentException>(() => run.Cancel(new string('u', 257)), "a cancel by a name longer than a user's");
        var cycle = new Dictionary<string, object>();
        cycle["self"] = cycle;
        Assert.Throws<ArgumentException>(() => run.Complete(cycle), "a result that refers to itself (it was JsonException)");
        Assert.Throws<ArgumentException>(() => producer.Start("eval", "inproc", parameters: cycle), "params that refer to themselves");
        // As deep as an HTTP body may be (32 levels in all), no deeper: a 64-level progress stopped every restart of
        // a durable hub, which reads the last event of each running process back.
        string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        using var deep = JsonDocument.Parse($"{{\"current\":1,\"total\":2,\"x\":{Nested(40)}}}", new JsonDocumentOptions { MaxDepth = 64 });
        Assert.Throws<ArgumentException>(() => run.ReportProgressAsync(deep.RootElement).AsTask().GetAwaiter().GetResult(), "a progress nested 41 levels");
        Assert.Throws<ArgumentException>(() => producer.Start("eval", "inproc", parameters: JsonDocument.Parse(Nested(40), new JsonDocumentOptions { MaxDepth = 64 }).RootElement), "params nested 40 levels");
        using var fine = JsonDocument.Parse($"{{\"current\":1,\"total\":2,\"x\":{Nested(20)}}}");
        Assert.That(run.ReportProgressAsync(fine.RootElement).AsTask().GetAwaiter().GetResult(), Is.EqualTo(ReportResult.Accepted));
        // A name given twice (decision 66): passed on as written, a client would read another copy than the hub checked.
        using var twice = JsonDocument.Parse("""{"current":-1,"total":2,"current":1}""");
        Assert.That(() => run.ReportProgress(twice.RootElement), Throws.ArgumentException.With.Message.EqualTo("progress repeats a member name in an object"));
        using var twiceParams = JsonDocument.Parse("""{"file":"a","file":"b"}""");
        Assert.That(() => producer.Start("eval", "inproc", parameters: twiceParams.RootElement), Throws.ArgumentException.With.Message.EqualTo("params repeats a member name in an object"));
        // Held inside another object, or as a node, it is written out verbatim all the same.
        using var twiceInside = JsonDocument.Parse("""{"file":"a","file":"b"}""");
        Assert.That(() => producer.Start("eval", "inproc", parameters: new { inner = twiceInside.RootElement }), Throws.ArgumentException.With.Message.EqualTo("params repeats a member name in an object"));
        using var twiceResult = JsonDocument.Parse("""{"score":1,"score":0}""");
        Assert.That(() => run.Complete(twiceResult.RootElement), Throws.ArgumentException.With.Message.EqualTo("result repeats a member name in an object"));
        // An escaped lone surrogate, as a JsonElement keeps it: what the HTTP API refuses with 400. Passed on, every
        // client's reader threw on it, and hubs on Redis skip such an event: a completion would never end the process.
        const string LoneSurrogate = "a string is not valid Unicode (an escaped lone surrogate) (Parameter 'value')";
        using var cut = JsonDocument.Parse("""{"current":1,"total":2,"detail":"cut \ud83d"}""");
        Assert.That(() => run.ReportProgress(cut.RootElement), Throws.ArgumentException.With.Message.EqualTo(LoneSurrogate), "progress");
        using var cutResult = JsonDocument.Parse("""{"summary":"cut \ud83d"}""");
        Assert.That(() => run.Complete(cutResult.RootElement), Throws.ArgumentException.With.Message.EqualTo(LoneSurrogate), "a result");
        Assert.That(() => run.Complete(new { inner = cutResult.RootElement }), Throws.ArgumentException, "a result holding it (the serializer refuses it there)");
        Assert.That(() => producer.Start("eval", "inproc", parameters: cutResult.RootElement), Throws.ArgumentException.With.Message.EqualTo(LoneSurrogate), "params");
        Assert.That(run.IsEnded, Is.False, "every refusal left it running");
        Assert.That(run.Fail("ok"), Is.EqualTo(ReportResult.Accepted));
    }

    [Test]
    public async Task A_request_id_or_process_id_too_long_to_echo_is_bad_request_and_not_echoed()
    {
        await using var tab = await _host.OpenTabAsync("echo-user");
        string longId = new('r', 257);

        await tab.SendJsonAsync(new { type = "ping", request_id = longId });
        var refusedRequestId = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "subscribe", process_id = longId, request_id = "s1" });
        var refusedProcessId = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "ping", request_id = new string('r', 256) });
        var pong = await tab.ReceiveAsync();

        Assert.That((refusedRequestId.Type, refusedRequestId.String("code")), Is.EqualTo(("error", "bad_request")), refusedRequestId.ToString());
        Assert.That(refusedRequestId.String("message"), Is.EqualTo("request_id must be a string of at most 256 characters"));
        Assert.That(refusedRequestId.Has("request_id"), Is.False, "not said back");
        Assert.That((refusedProcessId.String("code"), refusedProcessId.String("request_id")), Is.EqualTo(("bad_request", "s1")), refusedProcessId.ToString());
        Assert.That(refusedProcessId.Has("process_id"), Is.False);
        Assert.That(refusedProcessId.Raw.Length, Is.LessThan(300));
        Assert.That((pong.Type, pong.String("request_id")!.Length), Is.EqualTo(("pong", 256)));
    }

    [Test]
    public async Task Ids_are_limited_in_characters_and_a_type_is_cut_between_characters()
    {
        await using var tab = await _host.OpenTabAsync("emoji-user");
        string rocket = "\U0001F680"; // one character, two UTF-16 code units
        string longest = string.Concat(Enumerable.Repeat(rocket, 256));

        await tab.SendJsonAsync(new { type = "ping", request_id = longest });
        var pong = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "ping", request_id = longest + rocket });
        var refused = await tab.ReceiveAsync();
        await tab.SendJsonAsync(new { type = "x" + string.Concat(Enumerable.Repeat(rocket, 70)) });
        var unknown = await tab.ReceiveAsync();

        Assert.That((pong.Type, pong.String("request_id")), Is.EqualTo(("pong", longest)), "256 characters are said back whole");
        Assert.That((refused.Type, refused.String("message")), Is.EqualTo(("error", "request_id must be a string of at most 256 characters")));
        Assert.That(unknown.String("message"), Is.EqualTo($"unknown message type '{"x" + string.Concat(Enumerable.Repeat(rocket, 63))}'"), "cut at 64 characters, none in half");
    }

    private async Task<string> CreateAsync(string token)
    {
        var created = await RawHttpClient.PostAsync(EndPoint, "/api/processes", token, """{"process_type":"eval"}""");
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        return created.Json.GetProperty("process_id").GetString()!;
    }
}
