using System.Text.Encodings.Web;
using System.Text.Json;

namespace ProcessHub.Http;

/// <summary>
/// How the HTTP API writes JSON: as the WebSocket messages are written (docs/protocol.md 3.1), non-ASCII text and
/// <c>' &lt; &gt; &amp;</c> as they are, not as <c>\u</c> escapes. The framework's default escapes them for JSON
/// embedded in HTML; a 409's <c>process_error</c> then read <c>it\u0027s</c> where the WebSocket and
/// <c>GET /api/processes/{id}</c> sent <c>it's</c>. Answers are <c>application/json</c>, never HTML that a browser would render.
/// </summary>
internal static class HttpJson
{
    public static readonly JsonSerializerOptions SerializerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
