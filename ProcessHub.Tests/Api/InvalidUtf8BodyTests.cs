using System.Text;
using NUnit.Framework;

namespace ProcessHub.Tests.Api;

/// <summary>
/// A body whose bytes are not UTF-8 inside a JSON string (a worker writing Latin-1, a text cut inside a character):
/// the JSON parser takes it, and reading the string threw, which made a 500, a stack trace in the log and a closed
/// connection. Every route that reads a body answers 400 instead, and keeps nothing (docs/protocol.md 1.4).
/// </summary>
[TestFixture]
[Category("socket")]
internal sealed class InvalidUtf8BodyTests : ApiFixture
{
    // "<FF>" stands for the raw byte 0xFF, which no UTF-8 text holds.
    [TestCase("/api/processes", """{"process_type":"ex<FF>port"}""")]
    [TestCase("/api/processes", """{"process_type":"export","params":{"file":"r<FF>sum<FF>.csv"}}""")]
    [TestCase("/api/processes/{id}/progress", """{"current":1,"total":3,"detail":"caf<FF>"}""")]
    [TestCase("/api/processes/{id}/complete", """{"result":{"note":"<FF>"}}""")]
    [TestCase("/api/processes/{id}/fail", """{"error":{"code":"x","message":"disk <FF> full"}}""")]
    [TestCase("/api/benchmark", """{"models":["GPT<FF>"],"contexts":["1K"],"runs":1,"step_ms":60000}""")]
    public async Task A_string_that_is_not_UTF8_is_400_and_changes_nothing(string route, string body)
    {
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        byte[] bytes = body.Split("<FF>").Select(Encoding.UTF8.GetBytes).Aggregate((before, after) => [.. before, 0xFF, .. after]);
        string head = RawHttpClient.BuildRequest("POST", route.Replace("{id}", id, StringComparison.Ordinal), token, bytes.Length);

        var reply = await RawHttpClient.SendRawAsync(Server.EndPoint, [.. Encoding.ASCII.GetBytes(head), .. bytes]);

        Assert.That(reply.Status, Is.EqualTo(400), reply.ToString());
        Assert.That(reply.ErrorCode, Is.EqualTo("bad_request"));
        Assert.That(reply.ErrorMessage, Is.EqualTo("the body is not valid UTF-8"));
        var process = await Server.GetProcessAsync(id, token);
        Assert.That(process.Long("seq"), Is.EqualTo(1), "nothing was applied to the process");
        var list = await Server.GetAsync("/api/processes", token);
        Assert.That(list.Json.GetProperty("processes").GetArrayLength(), Is.EqualTo(1), "nothing was started: " + list);
    }

    [TestCase("/api/processes", """{"process_type":"export"}""")]
    [TestCase("/api/processes/{id}/progress", """{"current":1,"total":3}""")]
    [TestCase("/api/processes/{id}/complete", "{}")]
    public async Task A_body_that_starts_with_a_byte_order_mark_is_400_that_says_so(string route, string body)
    {
        // A file saved as "UTF-8 with BOM" and sent with curl -d @file: refused as "malformed JSON", with nothing to
        // see in the file that was wrong (an audit, 2026-12-03).
        var (_, token) = NewUser();
        string id = await Server.CreateAsync(token);
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(body)];
        string head = RawHttpClient.BuildRequest("POST", route.Replace("{id}", id, StringComparison.Ordinal), token, bytes.Length);

        var reply = await RawHttpClient.SendRawAsync(Server.EndPoint, [.. Encoding.ASCII.GetBytes(head), .. bytes]);

        Assert.That((reply.Status, reply.ErrorMessage), Is.EqualTo((400, "the body starts with a byte order mark (U+FEFF): send the JSON without one")), reply.ToString());
        Assert.That((await Server.GetProcessAsync(id, token)).Long("seq"), Is.EqualTo(1), "nothing was applied to the process");
    }
}
