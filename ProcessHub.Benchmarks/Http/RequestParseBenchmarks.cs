using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using ProcessHub.Benchmarks.Buffers;
using ProcessHub.Http;
using ProcessHub.Server;
using ProcessHub.WebSockets;

namespace ProcessHub.Benchmarks.Http;

/// <summary>
/// A browser's WebSocket upgrade request head through <see cref="HttpRequestParser"/>, whole and split across
/// three reads, and the 101 response with its Sec-WebSocket-Accept (SHA-1 + base64) that answers it.
/// Each parse is followed by <see cref="HttpRequest.ReturnBuffer"/>, as the connection loop does after every
/// request, so the pooled head buffer is rented and returned once per invocation.
/// </summary>
[MemoryDiagnoser]
public class RequestParseBenchmarks
{
    // Chrome's upgrade request, in Chrome's header order. The key is RFC 6455's own example (section 1.3),
    // so the accept value can be checked against the RFC: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
    private const string Head =
        "GET /ws?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl HTTP/1.1\r\n" +
        "Host: hub.example.internal:8501\r\n" +
        "Connection: Upgrade\r\n" +
        "Pragma: no-cache\r\n" +
        "Cache-Control: no-cache\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
        "Upgrade: websocket\r\n" +
        "Origin: https://hub.example.internal:8501\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n" +
        "Cookie: ph_session=4f2d8c1a9e7b6a3f; theme=dark\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "\r\n";

    private static ReadOnlySpan<byte> ExpectedAccept => "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="u8;

    private readonly int _maxHeadBytes = new ServerOptions().MaxRequestHeadBytes;
    private readonly HttpRequest _request = new();
    private readonly byte[] _response = new byte[WebSocketHandshake.MaxAcceptResponseLength];
    private byte[] _head = [];
    private byte[] _key = [];
    private ReadOnlySequence<byte> _single;
    private ReadOnlySequence<byte> _threeSegments;

    /// <summary>The request head's length in bytes.</summary>
    public int HeadLength => _head.Length;

    [GlobalSetup]
    public void Setup()
    {
        _head = Encoding.ASCII.GetBytes(Head);
        _single = new ReadOnlySequence<byte>(_head);
        // Cut inside the request target and inside the User-Agent value, as TCP reads fall anywhere.
        _threeSegments = Segments.Split(_head, 20, 230);
        _key = VerifyParsedRequest();
    }

    [GlobalCleanup]
    public void Cleanup() => _request.ReturnBuffer();

    /// <summary>Returns the head length consumed, or -1 if the head did not parse whole.</summary>
    [Benchmark]
    public int ParseSingleSegment() => Parse(_single);

    [Benchmark]
    public int ParseThreeSegments() => Parse(_threeSegments);

    /// <summary>Writes the 101 response for the request's key; returns its length.</summary>
    [Benchmark]
    public int WriteAcceptResponse() => WebSocketHandshake.WriteAcceptResponse(_key, _response);

    private int Parse(ReadOnlySequence<byte> input)
    {
        var buffer = input;
        bool parsed = HttpRequestParser.TryParse(ref buffer, _request, _maxHeadBytes, out _);
        int consumed = parsed && buffer.IsEmpty ? _request.HeadLength : -1;
        _request.ReturnBuffer();
        return consumed;
    }

    // Both inputs must parse into the same upgrade request, and its accept value must be the RFC's.
    private byte[] VerifyParsedRequest()
    {
        foreach (var input in new[] { _single, _threeSegments })
        {
            var buffer = input;
            if (!HttpRequestParser.TryParse(ref buffer, _request, _maxHeadBytes, out var rejection) || !buffer.IsEmpty)
            {
                throw new InvalidOperationException($"the upgrade request did not parse: {rejection}");
            }
            var outcome = WebSocketHandshake.Validate(_request, []);
            if (!_request.IsGet || !_request.Path.SequenceEqual("/ws"u8) || outcome != HandshakeOutcome.Accepted)
            {
                throw new InvalidOperationException($"the upgrade request parsed wrongly: {outcome}");
            }
        }
        byte[] key = _request.Header(KnownHeader.SecWebSocketKey).ToArray();
        _request.ReturnBuffer();

        int length = WebSocketHandshake.WriteAcceptResponse(key, _response);
        var response = _response.AsSpan(0, length);
        if (!response.StartsWith("HTTP/1.1 101 "u8) || response.IndexOf(ExpectedAccept) < 0 || !response.EndsWith("\r\n\r\n"u8))
        {
            throw new InvalidOperationException("the 101 response does not carry the RFC 6455 accept value");
        }
        return key;
    }
}
