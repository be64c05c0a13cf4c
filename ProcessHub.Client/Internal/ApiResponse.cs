using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>
/// An HTTP API answer: its status and its JSON body (default when it had none). <paramref name="AfterUnavailable"/>:
/// an earlier attempt of the same request got 503, which may have been stored all the same (a Redis that answered
/// too late, docs/protocol.md 11.4), so a 409 now can be this request's own effect.
/// </summary>
internal readonly record struct ApiResponse(int Status, JsonElement Body, bool AfterUnavailable = false)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>The hub's <c>{"error":{"code","message"}}</c> as an exception.</summary>
    public HubRequestException ToException()
    {
        string code = "http_error";
        // No error object of the hub's: most often a proxy's own page (a 502 from nginx, a 404 of a wrong path prefix),
        // which "the hub refused the request" blamed on the hub.
        string message = $"HTTP {Status} without the hub's JSON error: from the hub, or from a proxy in front of it";
        if (Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            code = JsonFields.String(error, "code") ?? code;
            message = JsonFields.String(error, "message") ?? message;
        }
        return new HubRequestException(code, message, Status);
    }
}
