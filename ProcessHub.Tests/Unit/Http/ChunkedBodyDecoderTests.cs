using System.Buffers;
using System.Text;
using NUnit.Framework;
using ProcessHub.Http;
using ProcessHub.Tests.Infrastructure;

namespace ProcessHub.Tests.Unit.Http;

/// <summary>
/// RFC 9112 7.1 chunked bodies through <see cref="ChunkedBodyDecoder"/> on annotated fixtures. Like every parser of
/// the connection's bytes it is fed whole, cut at every position into two reads (the unconsumed rest of the first
/// carried into the second, as the pipe does), and one byte per read: the body, the verdict and what is left for
/// the next request must not depend on the cut.
/// </summary>
[TestFixture]
[Category("unit")]
internal sealed class ChunkedBodyDecoderTests
{
    private const int BodyLimit = 64;
    private const int TrailerLimit = 64;

    // What a .NET HttpClient sends for PostAsJsonAsync, annotated:
    private const string HttpClientBody =
        "1c\r\n" +                          // chunk-size in hex (28), lower case, no extension
        "{\"process_type\":\"benchmark\"}\r\n" + // chunk-data, then its CRLF
        "0\r\n" +                           // last-chunk
        "\r\n";                             // no trailer fields, the final CRLF

    public static IEnumerable<TestCaseData> ValidBodies()
    {
        TestCaseData Case(string name, string wire, string body) => new TestCaseData(wire, body).SetName($"Decodes {name}");

        yield return Case("HttpClient's body", HttpClientBody, "{\"process_type\":\"benchmark\"}");
        yield return Case("several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world");
        yield return Case("an empty body", "0\r\n\r\n", "");
        yield return Case("upper-case hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789");
        yield return Case("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello");
        yield return Case("chunk extensions, ignored", "5;name=value\r\nhello\r\n5 ; a = \"q;\\\"x\" ;b\r\nworld\r\n0;last\r\n\r\n", "helloworld");
        yield return Case("trailer fields, ignored", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:\r\n\r\n", "hello");
        yield return Case("CR and LF inside chunk data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n");
        yield return Case("a body of exactly the limit", $"40\r\n{new string('x', 64)}\r\n0\r\n\r\n", new string('x', 64));
    }

    [TestCaseSource(nameof(ValidBodies))]
    public void Decodes_wherever_it_is_cut(string wire, string expected)
    {
        const string next = "GET /next HTTP/1.1\r\n";
        var bytes = Encoding.Latin1.GetBytes(wire + next);

        Assert.That(Decode(bytes, []), Is.EqualTo((expected, RequestRejection.None, true, next)), "one read");
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.That(Decode(bytes, [cut]), Is.EqualTo((expected, RequestRejection.None, true, next)), $"two reads, cut at {cut}");
        }
        Assert.That(Decode(bytes, [.. Enumerable.Range(1, bytes.Length - 1)]), Is.EqualTo((expected, RequestRejection.None, true, next)), "one byte per read");
    }

    [TestCaseSource(nameof(ValidBodies))]
    public void Every_prefix_needs_more_data(string wire, string expected)
    {
        var bytes = Encoding.Latin1.GetBytes(wire);
        for (int length = 0; length < bytes.Length; length++)
        {
            var (_, rejection, complete, _) = Decode(bytes[..length], []);
            Assert.That((rejection, complete), Is.EqualTo((RequestRejection.None, false)), $"prefix of {length} bytes");
        }
    }

    [TestCase("\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a missing chunk size")]
    [TestCase("g\r\nx\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a size that is not hex")]
    [TestCase("-1\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a negative size")]
    [TestCase("0x5\r\nhello\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a 0x prefix")]
    [TestCase(" 5\r\nhello\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects whitespace before the size")]
    [TestCase("5 \r\nhello\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects whitespace after the size with no extension")]
    [TestCase("5;\r\nhello\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects an extension without a name")]
    [TestCase("5;a\u0001b\r\nhello\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a control byte in an extension")]
    [TestCase("5\nhello\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a bare LF after the size")]
    [TestCase("5\rhello\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a bare CR after the size")]
    [TestCase("5\r\nhelloX\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects data longer than its size")]
    [TestCase("5\r\nhello\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a bare LF after the data")]
    [TestCase("5\r\nhello\r\r\n0\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects CR CR after the data")]
    [TestCase("0\r\nno colon\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a trailer line without a colon")]
    [TestCase("0\r\nX-A : b\r\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a trailer name with a space")]
    [TestCase("0\r\nX-A: b\n\r\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a bare LF in the trailers")]
    [TestCase("0\r\n\n", RequestRejection.InvalidChunkedBody, TestName = "Rejects a bare LF as the final line")]
    [TestCase("41\r\n", RequestRejection.BodyTooLarge, TestName = "Rejects a chunk over the limit at its size line")]
    [TestCase("20\r\n0123456789abcdef0123456789abcdef\r\n21\r\n", RequestRejection.BodyTooLarge, TestName = "Rejects chunks adding up past the limit")]
    [TestCase("FFFFFFFFFFFFFFFFFFFFFFFF\r\n", RequestRejection.BodyTooLarge, TestName = "Rejects a size past 64 bits as too large, not as an overflow")]
    public void Rejects_wherever_it_is_cut(string wire, RequestRejection expected)
    {
        var bytes = Encoding.Latin1.GetBytes(wire);

        Assert.That(Decode(bytes, []).Rejection, Is.EqualTo(expected), "one read");
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.That(Decode(bytes, [cut]).Rejection, Is.EqualTo(expected), $"two reads, cut at {cut}");
        }
        Assert.That(Decode(bytes, [.. Enumerable.Range(1, Math.Max(0, bytes.Length - 1))]).Rejection, Is.EqualTo(expected), "one byte per read");
    }

    [Test]
    public void A_size_line_longer_than_its_limit_is_rejected_before_it_ends()
    {
        // An extension that never ends must not be buffered without bound.
        var bytes = Encoding.ASCII.GetBytes("5;" + new string('x', ChunkedBodyDecoder.MaxChunkLineBytes));

        Assert.That(Decode(bytes, []).Rejection, Is.EqualTo(RequestRejection.InvalidChunkedBody));
    }

    [Test]
    public void Leading_zeros_do_not_count_towards_the_size_but_towards_the_line()
    {
        var zeros = new string('0', 100);

        Assert.That(Decode(Encoding.ASCII.GetBytes($"{zeros}5\r\nhello\r\n0\r\n\r\n"), []).Body, Is.EqualTo("hello"));
    }

    [Test]
    public void Trailers_past_their_limit_are_431_before_they_end()
    {
        var bytes = Encoding.ASCII.GetBytes("0\r\nX-Big: " + new string('t', TrailerLimit));

        Assert.That(Decode(bytes, []).Rejection, Is.EqualTo(RequestRejection.TrailersTooLarge));
    }

    /// <summary>
    /// Feeds <paramref name="bytes"/> as reads cut at <paramref name="cuts"/>, the unconsumed rest of each read in front
    /// of the next, in its own segment. Returns the body, the rejection, whether the body ended, and what is left.
    /// </summary>
    private static (string Body, RequestRejection Rejection, bool Complete, string Left) Decode(byte[] bytes, int[] cuts)
    {
        var decoder = new ChunkedBodyDecoder(BodyLimit, TrailerLimit);
        var body = new ArrayBufferWriter<byte>();
        var pending = Array.Empty<byte>();
        int start = 0;
        foreach (int end in cuts.Append(bytes.Length))
        {
            var buffer = TestSequences.Create(pending, bytes[start..end]);
            start = end;
            if (!decoder.TryDecode(ref buffer, body, out var rejection))
            {
                return (Encoding.Latin1.GetString(body.WrittenSpan), rejection, false, "");
            }
            pending = buffer.ToArray();
            if (decoder.IsComplete)
            {
                return (Encoding.Latin1.GetString(body.WrittenSpan), RequestRejection.None, true, Encoding.Latin1.GetString([.. pending, .. bytes[start..]]));
            }
        }
        return (Encoding.Latin1.GetString(body.WrittenSpan), RequestRejection.None, false, Encoding.Latin1.GetString(pending));
    }
}
