using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace ProcessHub.Http;

/// <summary>
/// Builds HTTP/1.1 responses. The producer API's answers are on the ingest path (one per report), so a response is
/// written straight into its one array; a head too long for the scratch space (many or long extra headers) takes the
/// slower, general way.
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
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    };

    /// <summary>A complete JSON error response (docs/protocol.md section 1).</summary>
    public static byte[] Error(int status, string code, string message, bool keepAlive, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        var body = HttpErrorBody.Create(code, message);
        return Build(status, "application/json", body, body.Length, keepAlive, headers);
    }

    /// <summary>
    /// A complete response: head plus body. <paramref name="contentLength"/> null means a stream whose end is
    /// the connection's end (SSE).
    /// </summary>
    public static byte[] Build(int status, string? contentType, ReadOnlySpan<byte> body, long? contentLength, bool keepAlive, IEnumerable<KeyValuePair<string, string>>? headers, bool omitBody = false)
    {
        Span<byte> scratch = stackalloc byte[512];
        if (TryWriteHead(scratch, status, contentType, contentLength, keepAlive, headers, out int headLength))
        {
            int bodyLength = omitBody ? 0 : body.Length;
            var response = new byte[headLength + bodyLength];
            scratch[..headLength].CopyTo(response);
            if (!omitBody)
            {
                body.CopyTo(response.AsSpan(headLength));
            }
            return response;
        }
        return BuildLong(status, contentType, body, contentLength, keepAlive, headers, omitBody);
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
                // Header names and values are ASCII (ours); anything else takes the general way, which writes ASCII.
                if (!Ascii.IsValid(name) || !Ascii.IsValid(value)
                    || !Utf8.TryWrite(destination[written..], CultureInfo.InvariantCulture, $"{name}: {value}\r\n", out part))
                {
                    return false;
                }
                written += part;
            }
        }
        if (!"\r\n"u8.TryCopyTo(destination[written..]))
        {
            return false;
        }
        written += 2;
        return true;
    }

    private static byte[] BuildLong(int status, string? contentType, ReadOnlySpan<byte> body, long? contentLength, bool keepAlive, IEnumerable<KeyValuePair<string, string>>? headers, bool omitBody)
    {
        var head = new StringBuilder(256);
        head.Append("HTTP/1.1 ").Append(status).Append(' ').Append(ReasonPhrase(status)).Append("\r\n");
        head.Append("Server: ProcessHub\r\n");
        if (contentType is not null)
        {
            head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        }
        if (contentLength is long length)
        {
            head.Append("Content-Length: ").Append(length).Append("\r\n");
        }
        head.Append(keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                head.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }
        head.Append("\r\n");

        int headLength = Encoding.ASCII.GetByteCount(head.ToString());
        int bodyLength = omitBody ? 0 : body.Length;
        var response = new byte[headLength + bodyLength];
        Encoding.ASCII.GetBytes(head.ToString(), response);
        if (!omitBody)
        {
            body.CopyTo(response.AsSpan(headLength));
        }
        return response;
    }
}
