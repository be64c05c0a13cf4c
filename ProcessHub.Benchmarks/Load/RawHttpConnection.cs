using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProcessHub.Benchmarks.Load;

/// <summary>
/// A blocking HTTP/1.1 keep-alive client on a raw socket, one request at a time: the publisher's threads each own
/// one, so a request costs one send and (usually) one receive, with no allocation past the first.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] ContentLengthKey = "\r\ncontent-length:"u8.ToArray();
    private static readonly byte[] ChunkedEnd = "0\r\n\r\n"u8.ToArray();
    private readonly IPEndPoint _endPoint;
    private readonly byte[] _response = new byte[64 * 1024];
    private readonly byte[] _request = new byte[64 * 1024];
    private Socket? _socket;

    public RawHttpConnection(IPEndPoint endPoint) => _endPoint = endPoint;

    /// <summary>The body of the last response (valid until the next request).</summary>
    public ReadOnlySpan<byte> LastBody => _response.AsSpan(_bodyStart, _bodyLength);
    private int _bodyStart;
    private int _bodyLength;

    public string LastBodyText => Encoding.UTF8.GetString(LastBody);

    /// <summary>Sends one request and returns the status code.</summary>
    public int Send(string method, string path, string? authorization, ReadOnlySpan<byte> body)
    {
        int length = WriteHead(method, path, authorization, body.Length);
        body.CopyTo(_request.AsSpan(length));
        length += body.Length;
        return Exchange(length);
    }

    /// <summary>Sends a request whose body the caller writes into the span given (returns the body length).</summary>
    public int Send(string method, string path, string? authorization, int maxBody, SpanWriter writeBody)
    {
        // Write the body after a gap big enough for the head, then move it in place behind the real head.
        const int Gap = 4096;
        int bodyLength = writeBody(_request.AsSpan(Gap, maxBody));
        int headLength = WriteHead(method, path, authorization, bodyLength);
        _request.AsSpan(Gap, bodyLength).CopyTo(_request.AsSpan(headLength));
        return Exchange(headLength + bodyLength);
    }

    public delegate int SpanWriter(Span<byte> destination);

    /// <summary>Writes one whole request (head and body) for item <paramref name="item"/>; returns its length.</summary>
    public delegate int RequestWriter(Span<byte> destination, int item);

    /// <summary>
    /// HTTP/1.1 pipelining: <paramref name="count"/> requests in one send, then their responses in order. Returns
    /// how many answered other than 2xx. This is how the publisher keeps a burst in flight without a thread per request.
    /// </summary>
    public int SendPipelined(int count, int maxRequestBytes, RequestWriter write)
    {
        if (count * maxRequestBytes > _request.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "too many requests for the buffer");
        }
        int length = 0;
        for (int i = 0; i < count; i++)
        {
            length += write(_request.AsSpan(length, maxRequestBytes), i);
        }
        var socket = _socket ??= Connect();
        int first;
        try
        {
            socket.Send(_request.AsSpan(0, length));
            first = ReadResponse(socket);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            // The server closed the idle keep-alive connection before it read the batch (ProcessHub closes one
            // after its head timeout, 10 s): nothing was served, so reconnect and send the batch again, once.
            _socket?.Dispose();
            _received = _receivedEnd = 0;
            socket = _socket = Connect();
            socket.Send(_request.AsSpan(0, length));
            first = ReadResponse(socket);
        }
        int failures = first is < 200 or > 299 ? 1 : 0;
        for (int i = 1; i < count; i++)
        {
            int status = ReadResponse(socket);
            if (status is < 200 or > 299)
            {
                failures++;
            }
        }
        return failures;
    }

    /// <summary>The head of a request with a body of <paramref name="bodyLength"/> bytes, into <paramref name="destination"/>.</summary>
    public int WriteHead(Span<byte> destination, string method, string path, string? authorization, int bodyLength)
    {
        return WriteHeadTo(destination, method, path, authorization, bodyLength);
    }

    private int WriteHead(string method, string path, string? authorization, int bodyLength) =>
        WriteHeadTo(_request.AsSpan(), method, path, authorization, bodyLength);

    private int WriteHeadTo(Span<byte> span, string method, string path, string? authorization, int bodyLength)
    {
        int at = Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: {_endPoint}\r\n", span);
        if (authorization is not null)
        {
            at += Encoding.ASCII.GetBytes("Authorization: Bearer ", span[at..]);
            at += Encoding.ASCII.GetBytes(authorization, span[at..]);
            at += Encoding.ASCII.GetBytes("\r\n", span[at..]);
        }
        at += Encoding.ASCII.GetBytes("Content-Type: application/json\r\nContent-Length: ", span[at..]);
        Utf8Formatter.TryFormat(bodyLength, span[at..], out int written);
        at += written;
        "\r\n\r\n"u8.CopyTo(span[at..]);
        return at + 4;
    }

    private int Exchange(int requestLength)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var socket = _socket ??= Connect();
                socket.Send(_request.AsSpan(0, requestLength));
                return ReadResponse(socket);
            }
            catch (Exception ex) when ((ex is SocketException or IOException) && attempt < 2)
            {
                // The server closed an idle keep-alive connection: reconnect once and resend.
                _socket?.Dispose();
                _socket = null;
                _received = _receivedEnd = 0;
            }
        }
    }

    private Socket Connect()
    {
        // Bounded: a server that stops answering fails the measurement instead of hanging it.
        var socket = new Socket(_endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 60_000, SendTimeout = 60_000 };
        socket.Connect(_endPoint);
        return socket;
    }

    // Received bytes not yet consumed: [_received, _receivedEnd) of _response (pipelined responses arrive together).
    private int _received;
    private int _receivedEnd;

    private int Receive(Socket socket, int end)
    {
        if (end == _response.Length)
        {
            throw new IOException("response too large");
        }
        int n = socket.Receive(_response.AsSpan(end));
        if (n == 0)
        {
            throw new IOException("the server closed the connection");
        }
        return end + n;
    }

    private int ReadResponse(Socket socket)
    {
        // Move what is left of the last read to the front.
        int end = _receivedEnd - _received;
        if (_received > 0 && end > 0)
        {
            Buffer.BlockCopy(_response, _received, _response, 0, end);
        }
        _received = _receivedEnd = 0;
        int headEnd;
        while ((headEnd = _response.AsSpan(0, end).IndexOf(HeadEnd)) < 0)
        {
            end = Receive(socket, end);
        }
        if (!Utf8Parser.TryParse(_response.AsSpan(9, 3), out int status, out _))
        {
            throw new IOException("not an HTTP response");
        }
        var head = _response.AsSpan(0, headEnd + 2);
        _bodyStart = headEnd + 4;
        int lengthAt = IndexOfIgnoreCase(head, ContentLengthKey);
        if (lengthAt >= 0)
        {
            var rest = head[(lengthAt + ContentLengthKey.Length)..].TrimStart((byte)' ');
            if (!Utf8Parser.TryParse(rest, out int contentLength, out _))
            {
                throw new IOException("bad Content-Length");
            }
            while (end - _bodyStart < contentLength)
            {
                end = Receive(socket, end);
            }
            _bodyLength = contentLength;
            _received = _bodyStart + contentLength;
            _receivedEnd = end;
        }
        else
        {
            // Chunked (small control responses only, never pipelined): read to the last chunk, keep the raw text.
            while (!_response.AsSpan(_bodyStart, end - _bodyStart).EndsWith(ChunkedEnd))
            {
                end = Receive(socket, end);
            }
            _bodyLength = end - _bodyStart;
        }
        return status;
    }

    private static int IndexOfIgnoreCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> lowerNeedle)
    {
        for (int i = 0; i + lowerNeedle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < lowerNeedle.Length && (haystack[i + j] | 0x20) == (lowerNeedle[j] | 0x20))
            {
                j++;
            }
            if (j == lowerNeedle.Length)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Drops the connection; the next request opens a new one.</summary>
    public void Reset()
    {
        _socket?.Dispose();
        _socket = null;
        _received = _receivedEnd = 0;
    }

    public void Dispose() => _socket?.Dispose();
}
