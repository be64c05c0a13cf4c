using System.Text;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>
/// <c>Expect: 100-continue</c> against the API (RFC 9110 10.1.1): the body is asked for only once the request will
/// be served, so a refused one (401, 429) gets its final status at once and the client never sends the body.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class ExpectContinueTests : ApiFixture
{
    private const string Body = """{"process_type":"export","total":3}""";

    [Test]
    public async Task A_bad_token_gets_401_at_once_without_100_and_the_body_is_never_read()
    {
        await using var connection = await RawHttpClient.ConnectAsync(Server.EndPoint);
        await connection.SendAsync(Head("not-a-token"));

        var reply = await connection.ReadResponseAsync();

        Assert.That(reply.Status, Is.EqualTo(401), "no 100 Continue first: " + reply);
        Assert.That(reply.Header("Connection"), Is.EqualTo("close"), reply.ToString());
    }

    [Test]
    public async Task A_missing_token_gets_401_at_once()
    {
        await using var connection = await RawHttpClient.ConnectAsync(Server.EndPoint);
        await connection.SendAsync(Head(token: null));

        var reply = await connection.ReadResponseAsync();

        Assert.That(reply.Status, Is.EqualTo(401), reply.ToString());
    }

    [Test]
    public async Task A_good_token_gets_100_then_the_body_is_read_and_the_process_created()
    {
        await using var connection = await RawHttpClient.ConnectAsync(Server.EndPoint);
        await connection.SendAsync(Head(Server.Token("expecting")));

        var interim = await connection.ReadHeadAsync();
        await connection.SendAsync(Encoding.UTF8.GetBytes(Body));
        var reply = await connection.ReadResponseAsync();

        Assert.That(interim.Head, Is.EqualTo("HTTP/1.1 100 Continue"), "an interim response with no headers");
        Assert.That(reply.Status, Is.EqualTo(201), reply.ToString());
        Assert.That(reply.Json.GetProperty("process_id").GetString(), Is.Not.Empty);
    }

    [Test]
    public async Task A_report_on_a_process_that_does_not_exist_gets_404_at_once_without_100()
    {
        await using var connection = await RawHttpClient.ConnectAsync(Server.EndPoint);
        await connection.SendAsync(Head(Server.Token("expecting"), "/api/processes/0000000000000000/progress"));

        var reply = await connection.ReadResponseAsync();

        Assert.That((reply.Status, reply.ErrorCode), Is.EqualTo((404, "not_found")), "no 100 Continue first: " + reply);
        Assert.That(reply.Header("Connection"), Is.EqualTo("close"), reply.ToString());
    }

    [Test]
    public async Task A_report_on_another_users_process_gets_403_at_once_without_100()
    {
        var (_, owner) = NewUser();
        var (_, other) = NewUser();
        var created = await RawHttpClient.PostAsync(Server.EndPoint, "/api/processes", owner, Body);
        Assert.That(created.Status, Is.EqualTo(201), created.ToString());
        string id = created.Json.GetProperty("process_id").GetString()!;
        await using var connection = await RawHttpClient.ConnectAsync(Server.EndPoint);
        await connection.SendAsync(Head(other, $"/api/processes/{id}/progress"));

        var reply = await connection.ReadResponseAsync();

        Assert.That((reply.Status, reply.ErrorCode), Is.EqualTo((403, "forbidden")), "no 100 Continue first: " + reply);
    }

    [Test]
    public async Task A_report_its_owner_may_make_gets_100_then_the_body_is_read()
    {
        var (_, owner) = NewUser();
        var created = await RawHttpClient.PostAsync(Server.EndPoint, "/api/processes", owner, Body);
        string id = created.Json.GetProperty("process_id").GetString()!;
        await using var connection = await RawHttpClient.ConnectAsync(Server.EndPoint);
        const string Progress = """{"current":1,"total":3}""";
        await connection.SendAsync(RawHttpClient.BuildRequest("POST", $"/api/processes/{id}/progress", owner, Encoding.UTF8.GetByteCount(Progress), ("Expect", "100-continue")));

        var interim = await connection.ReadHeadAsync();
        await connection.SendAsync(Encoding.UTF8.GetBytes(Progress));
        var reply = await connection.ReadResponseAsync();

        Assert.That(interim.Head, Is.EqualTo("HTTP/1.1 100 Continue"));
        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
    }

    private static string Head(string? token, string path = "/api/processes") =>
        RawHttpClient.BuildRequest("POST", path, token, Encoding.UTF8.GetByteCount(Body), ("Expect", "100-continue"));
}
