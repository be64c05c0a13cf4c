using System.Text.Json;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>GET /api/processes and GET /api/processes/{id}: processes as in <c>process_list</c> (docs/protocol.md section 3).</summary>
[TestFixture]
[Category("socket")]
internal sealed class QueryTests : ApiFixture
{
    private static readonly string[] RunningKeys = ["owner", "process_id", "process_type", "progress", "seq", "started_at", "status"];
    private static readonly string[] CompletedKeys = ["duration_ms", "ended_at", "owner", "process_id", "process_type", "progress", "result", "seq", "started_at", "status"];
    private static readonly string[] FailedKeys = ["duration_ms", "ended_at", "error", "owner", "process_id", "process_type", "progress", "seq", "started_at", "status"];
    private static readonly string[] CancelledKeys = ["cancelled_by", "duration_ms", "ended_at", "owner", "process_id", "process_type", "progress", "seq", "started_at", "status"];

    [Test]
    public async Task The_list_is_a_process_list_of_the_callers_processes_in_start_order()
    {
        var (alice, token) = NewUser();
        var (_, bobToken) = NewUser();
        string running = await Server.CreateAsync(token, new { process_type = "export", total = 4 });
        await Server.PostAsync($"/api/processes/{running}/progress", token, """{"current":1,"total":4,"detail":"rows"}""");
        string completed = await Server.CreateAsync(token, new { process_type = "import" });
        await Server.PostAsync($"/api/processes/{completed}/complete", token, """{"result":1}""");
        string failed = await Server.CreateAsync(token, new { process_type = "sync" });
        await Server.PostAsync($"/api/processes/{failed}/fail", token, """{"error":{"message":"boom"}}""");
        string cancelled = await Server.CreateAsync(token, new { process_type = "sync" });
        await Server.PostAsync($"/api/processes/{cancelled}/cancel", token, null);
        string bobs = await Server.CreateAsync(bobToken);

        var reply = await Server.GetAsync("/api/processes", token);

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
        Assert.That(reply.Header("Content-Type"), Does.StartWith("application/json"));
        var list = reply.Json;
        Assert.That(Json.Keys(list), Is.EqualTo(new[] { "epoch", "processes", "retention_seconds", "timestamp", "type" }));
        Assert.That(list.Type(), Is.EqualTo("process_list"));
        Assert.That(list.Str("epoch"), Is.EqualTo(Server.App.Registry.Epoch));
        Assert.That(list.Str("timestamp"), Does.Match(Json.TimestampPattern));
        var processes = list.GetProperty("processes").EnumerateArray().ToList();
        Assert.That(processes.Select(p => p.Str("process_id")), Is.EqualTo(new[] { running, completed, failed, cancelled }), $"not {bobs}");

        Assert.Multiple(() =>
        {
            Assert.That(Json.Keys(processes[0]), Is.EqualTo(RunningKeys));
            Assert.That(processes[0].Str("status"), Is.EqualTo("running"));
            Assert.That(processes[0].Str("owner"), Is.EqualTo(alice));
            Assert.That(processes[0].Str("process_type"), Is.EqualTo("export"));
            Assert.That(processes[0].Long("seq"), Is.EqualTo(2));
            Assert.That(Json.DeepEquals(processes[0].GetProperty("progress"), """{"current":1,"total":4,"detail":"rows"}"""), Is.True);
            Assert.That(processes[0].Str("started_at"), Does.Match(Json.TimestampPattern));

            Assert.That(Json.Keys(processes[1]), Is.EqualTo(CompletedKeys));
            Assert.That(processes[1].Str("status"), Is.EqualTo("completed"));
            Assert.That(Json.Keys(processes[2]), Is.EqualTo(FailedKeys));
            Assert.That(processes[2].Str("status"), Is.EqualTo("failed"));
            Assert.That(Json.DeepEquals(processes[2].GetProperty("error"), """{"message":"boom"}"""), Is.True);
            Assert.That(Json.Keys(processes[3]), Is.EqualTo(CancelledKeys));
            Assert.That(processes[3].Str("status"), Is.EqualTo("cancelled"));
        });
    }

    [Test]
    public async Task The_list_matches_the_process_list_a_WebSocket_gets()
    {
        var (_, token) = NewUser();
        await Server.CreateAsync(token);
        string ended = await Server.CreateAsync(token);
        await Server.PostAsync($"/api/processes/{ended}/fail", token, """{"error":{"message":"no","code":"E1"}}""");

        var reply = await Server.GetAsync("/api/processes", token);
        var (socket, wsList) = await Server.OpenTabWithTokenAsync(token);
        await using var _ = socket;

        Assert.That(Json.DeepEquals(reply.Json.GetProperty("processes"), wsList.Get("processes").GetRawText()), Is.True,
            $"HTTP: {reply.Text}\nWebSocket: {wsList}");
        Assert.That(reply.Json.Str("epoch"), Is.EqualTo(wsList.String("epoch")));
    }

    [Test]
    public async Task An_admin_lists_every_users_processes()
    {
        var (_, aliceToken) = NewUser();
        var (_, bobToken) = NewUser();
        var (_, adminToken) = NewUser("admin");
        string a = await Server.CreateAsync(aliceToken);
        string b = await Server.CreateAsync(bobToken);

        var reply = await Server.GetAsync("/api/processes", adminToken);

        var ids = reply.Json.GetProperty("processes").EnumerateArray().Select(p => p.Str("process_id")).ToList();
        Assert.That(ids, Does.Contain(a).And.Contain(b));
    }

    [Test]
    public async Task Get_one_is_the_process_as_in_the_list()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token, new { process_type = "export", total = 9 });
        await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":3,"total":9}""");

        var one = await Server.GetAsync($"/api/processes/{id}", token);
        var list = await Server.GetAsync("/api/processes", token);

        Assert.That(one.Status, Is.EqualTo(200), one.ToString());
        Assert.That(one.Header("Content-Type"), Does.StartWith("application/json"));
        Assert.That(Json.Keys(one.Json), Is.EqualTo(RunningKeys));
        var inList = list.Json.GetProperty("processes")[0];
        Assert.That(Json.DeepEquals(one.Json, inList.GetRawText()), Is.True, $"{one.Text} vs {inList}");
    }

    [Test]
    public async Task Get_one_is_404_for_an_unknown_id_and_403_for_another_users_process()
    {
        var (_, aliceToken) = NewUser();
        var (_, malloryToken) = NewUser();
        string id = await Server.CreateAsync(aliceToken);

        var unknown = await Server.GetAsync("/api/processes/ffffffffffffffff", aliceToken);
        var foreign = await Server.GetAsync($"/api/processes/{id}", malloryToken);

        Assert.That(unknown.Status, Is.EqualTo(404), unknown.ToString());
        Assert.That(unknown.ErrorCode, Is.EqualTo("not_found"));
        Assert.That(foreign.Status, Is.EqualTo(403), foreign.ToString());
        Assert.That(foreign.ErrorCode, Is.EqualTo("forbidden"));
    }

    [Test]
    public async Task List_and_get_need_a_token()
    {
        var list = await Server.GetAsync("/api/processes", token: null);
        var one = await Server.GetAsync("/api/processes/abc", token: null);

        Assert.That(list.Status, Is.EqualTo(401), list.ToString());
        Assert.That(list.Header("WWW-Authenticate"), Is.EqualTo("Bearer"));
        Assert.That(one.Status, Is.EqualTo(401), one.ToString());
    }

    [Test]
    public async Task A_new_user_has_an_empty_list()
    {
        var (_, token) = NewUser();

        var reply = await Server.GetAsync("/api/processes", token);

        Assert.That(reply.Json.GetProperty("processes").ValueKind, Is.EqualTo(JsonValueKind.Array));
        Assert.That(reply.Json.GetProperty("processes").GetArrayLength(), Is.Zero);
    }
}
