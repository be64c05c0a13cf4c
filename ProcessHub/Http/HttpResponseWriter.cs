using System.Text;

namespace ProcessHub.Http;

/// <summary>Builds HTTP/1.1 response heads. Responses are not a hot path: clarity over zero allocation here.</summary>
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
