using System.Text;
using NUnit.Framework;
using ProcessHub.Http;

namespace ProcessHub.Tests.Unit.Http;

/// <summary>
/// <see cref="HttpResponseWriter.Build"/> writes a short head in stack scratch and a long one again in a pooled
/// array; both must come out exactly as HTTP/1.1 spells them.
/// </summary>
[TestFixture]
[Category("unit")]
public sealed class HttpResponseWriterTests
{
    [Test]
    public void A_short_response_is_status_line_headers_blank_line_and_body()
    {
        var response = HttpResponseWriter.Build(200, "application/json", """{"cancel_requested":false}"""u8, 26, keepAlive: true, headers: null);

        Assert.That(Encoding.ASCII.GetString(response), Is.EqualTo(
            "HTTP/1.1 200 OK\r\nServer: ProcessHub\r\nContent-Type: application/json\r\nContent-Length: 26\r\nConnection: keep-alive\r\n\r\n{\"cancel_requested\":false}"));
    }

    [Test]
    public void Extra_headers_follow_Connection_and_a_stream_has_no_length()
    {
        var response = HttpResponseWriter.Build(503, "text/event-stream", default, contentLength: null, keepAlive: false, [new("Retry-After", "1"), new("Cache-Control", "no-cache")]);

        Assert.That(Encoding.ASCII.GetString(response), Is.EqualTo(
            "HTTP/1.1 503 Service Unavailable\r\nServer: ProcessHub\r\nContent-Type: text/event-stream\r\nConnection: close\r\nRetry-After: 1\r\nCache-Control: no-cache\r\n\r\n"));
    }

    [Test]
    public void A_head_longer_than_the_scratch_space_is_written_whole()
    {
        string value = new('v', 2000);
        var body = "{}"u8.ToArray();

        var response = HttpResponseWriter.Build(200, "application/json", body, body.Length, keepAlive: true, [new("X-Long", value)]);

        Assert.That(Encoding.ASCII.GetString(response), Is.EqualTo(
            $"HTTP/1.1 200 OK\r\nServer: ProcessHub\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\nX-Long: {value}\r\n\r\n{{}}"));
    }

    [Test]
    public void A_HEAD_response_keeps_the_length_and_drops_the_body()
    {
        var response = HttpResponseWriter.Build(200, "application/json", "{}"u8, 2, keepAlive: true, headers: null, omitBody: true);

        Assert.That(Encoding.ASCII.GetString(response), Does.EndWith("Content-Length: 2\r\nConnection: keep-alive\r\n\r\n"));
    }
}
