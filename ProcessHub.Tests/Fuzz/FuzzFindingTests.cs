using System.Text;
using NUnit.Framework;
using ProcessHub.Auth;
using ProcessHub.Fuzz.Targets;
using ProcessHub.Hub;

namespace ProcessHub.Tests.Fuzz;

/// <summary>
/// Each bug the fuzz targets found, as a plain test of the component (the input files themselves are also in
/// <c>ProcessHub.Fuzz/Findings</c>). docs/reliability.md, section "Fuzzing", says how each was found.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class FuzzFindingTests
{
    // Valid UTF-8, valid JSON (RFC 8259 7 allows any \u escape), but no valid UTF-16 string: JsonElement.GetString,
    // and TryGetProperty when a property name holds one, throw InvalidOperationException, which escaped the parser and
    // closed the connection with 1011 instead of a bad_request reply on an open connection (docs/protocol.md section 4).
    [TestCase("""{"type":"ping","request_id":"\ud800"}""", null)]
    [TestCase("""{"type":"subscribe","process_id":"\udc00x"}""", null)]
    [TestCase("""{"request_id":"r1","type":"auth","token":"\ud83d"}""", "r1")]
    [TestCase("""{"type":"ping","\ude00e":null}""", null)] // in a property name: matching "request_id" throws
    [TestCase("""{"request_id":"r2","type":"subscribe","s\ud800ince":1}""", "r2")]
    public void An_escaped_lone_surrogate_is_a_bad_request(string json, string? echoedRequestId)
    {
        var message = ClientMessage.TryParse(Encoding.UTF8.GetBytes(json), out string? problem, out string? requestId);

        Assert.That((message, requestId), Is.EqualTo(((ClientMessage?)null, echoedRequestId)));
        Assert.That(problem, Is.Not.Null.And.Not.Empty);
    }

    // The frame reader refuses invalid UTF-8 before the hub sees it, but the parser's contract is "null and a reason",
    // whatever the bytes: raw invalid UTF-8 inside a string threw the same InvalidOperationException.
    [Test]
    public void Invalid_utf8_inside_a_string_is_a_bad_request()
    {
        byte[] input = [.. "{\"type\":\"p"u8, 0xFF, .. "ing\"}"u8];

        var message = ClientMessage.TryParse(input, out string? problem, out _);

        Assert.That(message, Is.Null);
        Assert.That(problem, Is.Not.Null.And.Not.Empty);
    }

    // A token signed with the hub's own key whose claims hold a string that is no valid Unicode: the signature checks
    // out (it covers bytes, not text), then reading the claims threw InvalidOperationException out of Validate. Only
    // a holder of the key can make one, but the answer must still be a refusal, not an exception (1011 on /ws).
    // "<FF>" stands for the raw byte 0xFF, which a C# string cannot hold.
    [TestCase("""{"sub":"alice","exp":4102444800,"roles":["adm<FF>"]}""")]
    [TestCase("""{"sub":"al<FF>ice","exp":4102444800}""")]
    [TestCase("""{"sub":"alice","exp":4102444800,"roles":"\ud800"}""")]
    public void A_signed_token_whose_claims_are_not_valid_unicode_is_refused(string payload)
    {
        byte[] payloadBytes = payload.Split("<FF>").Select(Encoding.UTF8.GetBytes).Aggregate((before, after) => [.. before, 0xFF, .. after]);
        string token = TokenTarget.Sign("""{"alg":"HS256","typ":"JWT"}"""u8, payloadBytes);
        var validator = new TokenValidator(new JwtSettings { Secret = TokenTarget.TestSecret });

        var result = validator.Validate(token);

        Assert.That(result, Is.EqualTo(AuthResult.Fail("invalid token")));
    }
}
