using System.Buffers;
using System.Text;
using NUnit.Framework;
using ProcessHub.Http;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Unit.Http;

/// <summary>
/// RFC 9112 request heads through <see cref="HttpRequestParser"/>, whole, cut at every byte position into two
/// segments, and one byte per segment: a head split anywhere across reads must parse the same, and a prefix of
/// a head is "need more data", never a rejection.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class HttpRequestParserTests
{
    private const int MaxHead = 16 * 1024;

    // A browser's upgrade request, annotated:
    private static readonly byte[] UpgradeHead = Encoding.ASCII.GetBytes(
        "GET /ws?token=abc%20def&x=1 HTTP/1.1\r\n" + // request-line: method SP origin-form (path ? query) SP version
        "Host: 127.0.0.1:8501\r\n" +                 // required in HTTP/1.1 (RFC 9112 3.2)
        "Connection: keep-alive, Upgrade\r\n" +      // a list: the parser keeps it whole, tokens are matched later
        "upgrade: websocket\r\n" +                   // field names are case-insensitive
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Origin: \t http://localhost:8501 \t\r\n" +  // OWS around a value is not part of it (RFC 9112 5)
        "X-Not-Known: ignored\r\n" +                 // unknown fields are skipped
        "\r\n");                                     // the blank line ends the head

    // What follows the head in the same read: the first WebSocket frame, which must stay unconsumed.
    private static readonly byte[] Trailing = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

    private static readonly byte[] Input = [.. UpgradeHead, .. Trailing];

    [Test]
    public void Parses_an_upgrade_head_in_one_segment() =>
        AssertParsesUpgradeHead(new ReadOnlySequence<byte>(Input));

    [Test]
    public void Parses_the_same_head_cut_at_every_position()
    {
        for (int cut = 0; cut <= Input.Length; cut++)
        {
            AssertParsesUpgradeHead(TestSequences.SplitAt(Input, cut), $"cut at {cut}");
        }
    }

    [Test]
    public void Parses_the_same_head_one_byte_per_segment() =>
        AssertParsesUpgradeHead(TestSequences.OneBytePerSegment(Input));

    [Test]
    public void Every_prefix_of_a_head_needs_more_data()
    {
        for (int length = 0; length < UpgradeHead.Length; length++)
        {
            var buffer = TestSequences.SplitAt(UpgradeHead[..length], length / 2);
            var request = new HttpRequest();

            bool parsed = HttpRequestParser.TryParse(ref buffer, request, MaxHead, out var rejection);

            Assert.That((parsed, rejection, buffer.Length), Is.EqualTo((false, RequestRejection.None, (long)length)), $"prefix of {length} bytes");
        }
    }

    [Test]
    public void Reads_content_length_and_keep_alive_rules()
    {
        var request = Parse("POST /api/processes HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\nContent-Length: 42\r\n\r\n");
        var http10 = Parse("GET / HTTP/1.0\r\n\r\n");
        var http10KeepAlive = Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        var http11Close = Parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(request.ContentLength, Is.EqualTo(42), "a repeated, equal Content-Length is one value (RFC 9112 6.3)");
            Assert.That(request.KeepAlive, Is.True, "HTTP/1.1 keeps the connection by default");
            Assert.That(http10.KeepAlive, Is.False, "HTTP/1.0 closes by default");
            Assert.That(http10KeepAlive.KeepAlive, Is.True);
            Assert.That(http11Close.KeepAlive, Is.False);
            Assert.That(http10.ContentLength, Is.EqualTo(-1), "no Content-Length");
        }
    }

    [TestCase("127.0.0.1:8501")]
    [TestCase("localhost")]
    [TestCase("LOCALHOST:80")]
    [TestCase("[::1]:8501")]
    [TestCase("[::1]")]
    [TestCase("[fe80::1%25eth0]")]
    [TestCase("my-host.example_1.com.:")]
    [TestCase("")]
    public void Accepts_a_valid_Host(string host) =>
        Assert.That(Parse($"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").HeaderString(KnownHeader.Host), Is.EqualTo(host));

    [TestCase("Transfer-Encoding: chunked")]
    [TestCase("transfer-encoding: Chunked")]
    [TestCase("Transfer-Encoding:  chunked \t")]
    [TestCase("Transfer-Encoding: , chunked")]
    public void Reads_a_chunked_request(string field)
    {
        var request = Parse($"POST /api/processes HTTP/1.1\r\nHost: x\r\n{field}\r\n\r\n");

        Assert.That((request.IsChunked, request.HasBody, request.ContentLength), Is.EqualTo((true, true, -1L)));
    }

    [Test]
    public void Reads_the_100_continue_expectation()
    {
        var withBody = Parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
        var chunked = Parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
        var noBody = Parse("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n");
        var http10 = Parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        var http10Other = Parse("POST / HTTP/1.0\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\n");
        var plain = Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(withBody.ExpectsContinue, Is.True, "the token is case-insensitive (RFC 9110 10.1.1)");
            Assert.That(chunked.ExpectsContinue, Is.True);
            Assert.That(noBody.ExpectsContinue, Is.False, "nothing to wait for");
            Assert.That(http10.ExpectsContinue, Is.False, "HTTP/1.0: the expectation MUST be ignored");
            Assert.That(http10Other.ExpectsContinue, Is.False, "HTTP/1.0: any expectation is ignored");
            Assert.That(plain.ExpectsContinue, Is.False);
        }
    }

    [Test]
    public void Nothing_of_a_chunked_request_survives_into_the_next()
    {
        var bytes = Encoding.ASCII.GetBytes("POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n");
        var buffer = new ReadOnlySequence<byte>(bytes);
        var request = new HttpRequest();

        Assert.That(HttpRequestParser.TryParse(ref buffer, request, MaxHead, out _), Is.True);
        Assert.That(HttpRequestParser.TryParse(ref buffer, request, MaxHead, out _), Is.True);
        Assert.That((request.IsChunked, request.ExpectsContinue, request.HasBody), Is.EqualTo((false, false, false)));
    }

    [Test]
    public void Field_values_may_carry_obs_text()
    {
        var head = Encoding.Latin1.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://caf\u00e9.example\r\n\r\n");
        var buffer = new ReadOnlySequence<byte>(head);
        var request = new HttpRequest();

        Assert.That(HttpRequestParser.TryParse(ref buffer, request, MaxHead, out _), Is.True);
        Assert.That(request.Header(KnownHeader.Origin).ToArray(), Is.EqualTo(Encoding.Latin1.GetBytes("http://caf\u00e9.example")));
    }

    [TestCase("GET\r\n\r\n", RequestRejection.InvalidRequestLine, TestName = "Rejects a request line with one word")]
    [TestCase(" GET / HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestLine, TestName = "Rejects a request line starting with a space")]
    [TestCase("GET /\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestLine, TestName = "Rejects a request line without a version")]
    [TestCase("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestLine, TestName = "Rejects two spaces after the method")]
    [TestCase("GE@T / HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestLine, TestName = "Rejects a method that is not a token")]
    [TestCase("GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestLine, TestName = "Rejects text after the version")]
    [TestCase("GET / FTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestLine, TestName = "Rejects a protocol that is not HTTP")]
    [TestCase("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestTarget, TestName = "Rejects the absolute form")]
    [TestCase("GET * HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestTarget, TestName = "Rejects the asterisk form")]
    [TestCase("GET /a\u007fb HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestTarget, TestName = "Rejects DEL in the target")]
    [TestCase("GET /healthz#top HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestTarget, TestName = "Rejects a fragment in the target")]
    [TestCase("GET /a?b=\"c\" HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestTarget, TestName = "Rejects a raw double quote in the target")]
    [TestCase("GET /a?b=<c> HTTP/1.1\r\nHost: x\r\n\r\n", RequestRejection.InvalidRequestTarget, TestName = "Rejects raw angle brackets in the target")]
    [TestCase("GET / HTTP/2.0\r\nHost: x\r\n\r\n", RequestRejection.UnsupportedHttpVersion, TestName = "Rejects HTTP/2.0 as unsupported")]
    [TestCase("GET / HTTP/1.1\r\nHost : x\r\n\r\n", RequestRejection.InvalidHeaderLine, TestName = "Rejects whitespace before the colon")]
    [TestCase("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", RequestRejection.InvalidHeaderLine, TestName = "Rejects obs-fold")]
    [TestCase("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", RequestRejection.InvalidHeaderLine, TestName = "Rejects a field line without a colon")]
    [TestCase("GET / HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n", RequestRejection.InvalidHeaderLine, TestName = "Rejects an empty field name")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\u0001b\r\n\r\n", RequestRejection.InvalidHeaderLine, TestName = "Rejects a control byte in a value")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n", RequestRejection.BareLineEnding, TestName = "Rejects a bare LF in a value")]
    [TestCase("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", RequestRejection.MissingHost, TestName = "Rejects HTTP/1.1 without Host")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", RequestRejection.DuplicateHost, TestName = "Rejects two Host headers (RFC 9112 3.2)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", RequestRejection.DuplicateHost, TestName = "Rejects two equal Host headers")]
    [TestCase("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", RequestRejection.DuplicateHost, TestName = "Rejects two Host headers in HTTP/1.0")]
    [TestCase("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", RequestRejection.InvalidHost, TestName = "Rejects a Host with a space")]
    [TestCase("GET / HTTP/1.1\r\nHost: a:80:81\r\n\r\n", RequestRejection.InvalidHost, TestName = "Rejects a Host with two ports")]
    [TestCase("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", RequestRejection.InvalidHost, TestName = "Rejects a Host with a port that is not a number")]
    [TestCase("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", RequestRejection.InvalidHost, TestName = "Rejects an unclosed IPv6 literal")]
    [TestCase("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", RequestRejection.InvalidHost, TestName = "Rejects a Host with a path")]
    [TestCase("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", RequestRejection.InvalidHost, TestName = "Rejects a Host with userinfo")]
    [TestCase("GET / HTTP/1.1\nHost: x\n\n", RequestRejection.BareLineEnding, TestName = "Rejects a head with bare LF line endings")]
    [TestCase("GET / HTTP/1.1\r\nHost: x\n\r\n", RequestRejection.BareLineEnding, TestName = "Rejects one bare LF before the blank line")]
    [TestCase("GET / HTTP/1.1\r\nHost: x\r\n\n", RequestRejection.BareLineEnding, TestName = "Rejects a bare LF as the blank line")]
    [TestCase("GET / HTTP/1.1\nHost: x\r\n\r\n", RequestRejection.BareLineEnding, TestName = "Rejects a bare LF after the request line of a complete head")]
    [TestCase("GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n", RequestRejection.BareLineEnding, TestName = "Rejects a bare CR inside a complete head")]
    [TestCase("GET / HTTP/1.1\rHost: x\r\r", RequestRejection.BareLineEnding, TestName = "Rejects a head with bare CR line endings")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", RequestRejection.InvalidContentLength, TestName = "Rejects a negative Content-Length")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", RequestRejection.InvalidContentLength, TestName = "Rejects a signed Content-Length")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\n", RequestRejection.InvalidContentLength, TestName = "Rejects a Content-Length list")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", RequestRejection.InvalidContentLength, TestName = "Rejects an empty Content-Length")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", RequestRejection.InvalidContentLength, TestName = "Rejects two different Content-Lengths")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", RequestRejection.TransferEncodingWithContentLength, TestName = "Rejects Transfer-Encoding with Content-Length (no smuggling)")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", RequestRejection.TransferEncodingWithContentLength, TestName = "Rejects Content-Length with Transfer-Encoding after it")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", RequestRejection.UnsupportedTransferCoding, TestName = "Rejects a coding before chunked as not implemented")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects chunked that is not the last coding (RFC 9112 6.3)")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects a Transfer-Encoding without chunked")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects identity")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects chunked twice in one line")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects two Transfer-Encoding lines")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects an empty Transfer-Encoding")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunkedx\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects a coding that only starts with chunked")]
    [TestCase("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", RequestRejection.InvalidTransferEncoding, TestName = "Rejects Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1)")]
    [TestCase("POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n", RequestRejection.UnsupportedExpectation, TestName = "Rejects an unknown expectation with 417")]
    public void Rejects_a_malformed_head_wherever_it_is_cut(string head, RequestRejection expected)
    {
        var bytes = Encoding.Latin1.GetBytes(head);
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            var buffer = TestSequences.SplitAt(bytes, cut);
            bool parsed = HttpRequestParser.TryParse(ref buffer, new HttpRequest(), MaxHead, out var rejection);
            Assert.That((parsed, rejection), Is.EqualTo((false, expected)), $"cut at {cut}");
        }
    }

    [Test]
    public void Rejects_a_head_over_the_limit_with_or_without_its_end()
    {
        var complete = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: {new string('a', 200)}\r\n\r\n");
        var endless = complete[..^4];
        var atLimit = new ReadOnlySequence<byte>(complete);
        var overLimit = new ReadOnlySequence<byte>(complete);
        var endlessOver = new ReadOnlySequence<byte>(endless);
        var endlessAtLimit = new ReadOnlySequence<byte>(endless);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(HttpRequestParser.TryParse(ref atLimit, new HttpRequest(), complete.Length, out _), Is.True, "a head of exactly the limit is allowed");
            Assert.That(Rejection(ref overLimit, complete.Length - 1), Is.EqualTo(RequestRejection.HeadTooLarge));
            Assert.That(Rejection(ref endlessOver, endless.Length - 1), Is.EqualTo(RequestRejection.HeadTooLarge), "no need to wait for the end of a head already too long");
            Assert.That(Rejection(ref endlessAtLimit, endless.Length), Is.EqualTo(RequestRejection.None), "may still end within the limit");
        }
    }

    [Test]
    public void Parses_pipelined_heads_one_after_the_other_with_a_reused_request()
    {
        var bytes = Encoding.ASCII.GetBytes("GET /a?x=1 HTTP/1.1\r\nHost: x\r\nOrigin: o\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n");
        var buffer = TestSequences.SplitAt(bytes, 30);
        var request = new HttpRequest();

        Assert.That(HttpRequestParser.TryParse(ref buffer, request, MaxHead, out _), Is.True);
        Assert.That((request.PathString, request.QueryParameter("x"), request.HeaderString(KnownHeader.Host)), Is.EqualTo(("/a", "1", "x")));
        Assert.That(HttpRequestParser.TryParse(ref buffer, request, MaxHead, out _), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((request.PathString, request.QueryParameter("x"), request.HeaderString(KnownHeader.Host)), Is.EqualTo(("/b", (string?)null, "y")));
            Assert.That(request.HasHeader(KnownHeader.Origin), Is.False, "nothing of the previous request survives");
            Assert.That(buffer.IsEmpty, Is.True);
        }
    }

    [Test]
    public void Takes_the_characters_browsers_leave_unescaped_in_a_query()
    {
        // The WHATWG URL standard escapes only '"', '#', '<', '>' (and ' ') in a query: what RFC 3986 leaves out
        // besides those comes raw from every browser, and a refusal would break a page that puts it there.
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("GET /ws?x={a}|^[1]`\\ HTTP/1.1\r\nHost: x\r\n\r\n"));
        var request = new HttpRequest();

        Assert.That(HttpRequestParser.TryParse(ref buffer, request, MaxHead, out var rejection), Is.True, rejection.ToString());
        Assert.That((request.PathString, request.QueryParameter("x")), Is.EqualTo(("/ws", "{a}|^[1]`\\")));
    }

    private static RequestRejection Rejection(ref ReadOnlySequence<byte> buffer, int maxHead)
    {
        HttpRequestParser.TryParse(ref buffer, new HttpRequest(), maxHead, out var rejection);
        return rejection;
    }

    private static HttpRequest Parse(string head)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(head));
        var request = new HttpRequest();
        Assert.That(HttpRequestParser.TryParse(ref buffer, request, MaxHead, out var rejection), Is.True, $"rejected with {rejection}: {head}");
        return request;
    }

    private static void AssertParsesUpgradeHead(ReadOnlySequence<byte> buffer, string? context = null)
    {
        var request = new HttpRequest();

        bool parsed = HttpRequestParser.TryParse(ref buffer, request, MaxHead, out var rejection);

        Assert.That((parsed, rejection), Is.EqualTo((true, RequestRejection.None)), context);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(request.MethodString, Is.EqualTo("GET"), context);
            Assert.That(request.PathString, Is.EqualTo("/ws"), context);
            Assert.That(Encoding.ASCII.GetString(request.Query), Is.EqualTo("token=abc%20def&x=1"), context);
            Assert.That(request.QueryParameter("token"), Is.EqualTo("abc def"), context);
            Assert.That(request.IsHttp11, Is.True, context);
            Assert.That(request.HeaderString(KnownHeader.Host), Is.EqualTo("127.0.0.1:8501"), context);
            Assert.That(request.HeaderHasToken(KnownHeader.Connection, "upgrade"u8), Is.True, context);
            Assert.That(request.HeaderHasToken(KnownHeader.Upgrade, "WebSocket"u8), Is.True, context);
            Assert.That(request.HeaderString(KnownHeader.SecWebSocketKey), Is.EqualTo("dGhlIHNhbXBsZSBub25jZQ=="), context);
            Assert.That(request.HeaderString(KnownHeader.SecWebSocketVersion), Is.EqualTo("13"), context);
            Assert.That(request.HeaderString(KnownHeader.Origin), Is.EqualTo("http://localhost:8501"), context);
            Assert.That(request.HasHeader(KnownHeader.Authorization), Is.False, context);
            Assert.That(request.HeadLength, Is.EqualTo(UpgradeHead.Length), context);
            Assert.That(buffer.ToArray(), Is.EqualTo(Trailing), $"{context}: the bytes after the head stay unconsumed");
        }
    }
}
