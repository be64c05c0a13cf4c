using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace ProcessHub.Http;

/// <summary>
/// Builds HTTP/1.1 responses. The producer API's answers are on the ingest path (one per report), so the head is
/// written into stack scratch (a pooled array when it is longer) and copied once, with the body, into the response.
/// </summary>
internal static class HttpResponseWriter
{
    public static string ReasonPhrase(int status) => status switch
    {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    };

    /// <summary>
    /// A complete JSON error response (docs/protocol.md section 1); to a HEAD request (<paramref name="omitBody"/>) its
    /// head only, with the length the body would have (RFC 9110 9.3.2): a body after it would be read as the next answer.
    /// </summary>
    public static byte[] Error(int status, string code, string message, bool keepAlive, IEnumerable<KeyValuePair<string, string>>? headers = null, bool omitBody = false)
    {
        var body = HttpErrorBody.Create(code, message);
        return Build(status, "application/json", body, body.Length, keepAlive, headers, omitBody);
    }

    /// <summary>
    /// A complete response: head plus body. <paramref name="contentLength"/> null means a stream whose end is
    /// the connection's end (SSE).
    /// </summary>
    public static byte[] Build(int status, string? contentType, ReadOnlySpan<byte> body, long? contentLength, bool keepAlive, IEnumerable<KeyValuePair<string, string>>? headers, bool omitBody = false)
    {
        Span<byte> head = stackalloc byte[512];
        byte[]? rented = null;
        try
        {
            int headLength;
            // A head longer than the scratch (many or long extra headers) is written again into a bigger array.
            while (!TryWriteHead(head, status, contentType, contentLength, keepAlive, headers, out headLength))
            {
                int size = head.Length * 4;
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
                rented = ArrayPool<byte>.Shared.Rent(size);
                head = rented;
            }
            int bodyLength = omitBody ? 0 : body.Length;
            var response = new byte[headLength + bodyLength];
            head[..headLength].CopyTo(response);
            if (!omitBody)
            {
                body.CopyTo(response.AsSpan(headLength));
            }
            return response;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool TryWriteHead(Span<byte> destination, int status, string? contentType, long? contentLength, bool keepAlive, IEnumerable<KeyValuePair<string, string>>? headers, out int written)
    {
        written = 0;
        if (!Utf8.TryWrite(destination, CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {ReasonPhrase(status)}\r\nServer: ProcessHub\r\n", out int part))
        {
            return false;
        }
        written += part;
        if (contentType is not null)
        {
            if (!Utf8.TryWrite(destination[written..], CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\n", out part))
            {
                return false;
            }
            written += part;
        }
        if (contentLength is long length)
        {
            if (!Utf8.TryWrite(destination[written..], CultureInfo.InvariantCulture, $"Content-Length: {length}\r\n", out part))
            {
                return false;
            }
            written += part;
        }
        var connection = keepAlive ? "Connection: keep-alive\r\n"u8 : "Connection: close\r\n"u8;
        if (!connection.TryCopyTo(destination[written..]))
        {
            return false;
        }
        written += connection.Length;
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                // ASCII as HTTP heads are (a character outside it becomes '?').
                if (!TryWriteAscii(destination, ref written, name) || !TryWriteAscii(destination, ref written, ": ")
                    || !TryWriteAscii(destination, ref written, value) || !TryWriteAscii(destination, ref written, "\r\n"))
                {
                    return false;
                }
            }
        }
        if (!"\r\n"u8.TryCopyTo(destination[written..]))
        {
            return false;
        }
        written += 2;
        return true;
    }

    private static bool TryWriteAscii(Span<byte> destination, ref int written, string text)
    {
        if (!Encoding.ASCII.TryGetBytes(text, destination[written..], out int part))
        {
            return false;
        }
        written += part;
        return true;
    }
}
