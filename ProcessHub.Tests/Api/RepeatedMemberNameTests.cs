using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>
/// A body whose objects name a member twice (docs/protocol.md 1.2, decision 66): the hub checked the last copy and
/// passed the text on verbatim, so <c>{"current":-1,"total":3,"current":7}</c> was accepted and a client whose parser
/// keeps the first copy saw -1. Every route that reads a body answers 400 at any depth, and keeps nothing.
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class RepeatedMemberNameTests : ApiFixture
{
    [TestCase("/api/processes", """{"process_type":"x","process_type":"y"}""")]
    [TestCase("/api/processes", """{"process_type":"export","params":{"file":"a.csv","file":"b.csv"}}""")]
    [TestCase("/api/processes/{id}/progress", """{"current":-1,"total":3,"current":7}""")]
    [TestCase("/api/processes/{id}/progress", """{"current":1,"total":3,"detail":{"a":1,"a":2}}""")]
    [TestCase("/api/processes/{id}/complete", """{"result":{"score":1,"score":0}}""")]
    [TestCase("/api/processes/{id}/fail", """{"error":{"code":"x","message":"disk full","message":"fine"}}""")]
    [TestCase("/api/benchmark", """{"models":["m"],"contexts":["1K"],"runs":1,"runs":2,"step_ms":60000}""")]
    public async Task A_repeated_member_name_is_400_and_changes_nothing(string route, string body)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync(route.Replace("{id}", id, StringComparison.Ordinal), token, body);

        Assert.That((reply.Status, reply.ErrorCode, reply.ErrorMessage), Is.EqualTo((400, "bad_request", "a JSON object repeats a member name")), reply.ToString());
        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.Long("seq"), Is.EqualTo(1), "nothing was applied to the process");
        var list = await Server.GetAsync("/api/processes", token);
        Assert.That(list.Json.GetProperty("processes").GetArrayLength(), Is.EqualTo(1), "nothing was started: " + list);
    }

    [Test]
    public async Task The_same_name_in_two_objects_is_not_a_repeat()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"total":3,"a":{"current":2},"b":{"current":3}}""");

        Assert.That(reply.Status, Is.EqualTo(200), reply.ToString());
    }

    [Test]
    public async Task Malformed_JSON_is_still_called_malformed()
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);

        var reply = await Server.PostAsync($"/api/processes/{id}/progress", token, """{"current":1,"current":2""");

        Assert.That((reply.Status, reply.ErrorMessage), Is.EqualTo((400, "malformed JSON")), reply.ToString());
    }
}
