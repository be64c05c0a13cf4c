using System.Text.Json;

namespace ProcessHub.Client.Internal;

/// <summary>An HTTP API answer: its status and its JSON body (default when it had none).</summary>
internal readonly record struct ApiResponse(int Status, JsonElement Body)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>The hub's <c>{"error":{"code","message"}}</c> as an exception.</summary>
    public HubRequestException ToException()
    {
        string code = "http_error";
        string message = "the hub refused the request";
        if (Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            code = JsonFields.String(error, "code") ?? code;
            message = JsonFields.String(error, "message") ?? message;
        }
        return new HubRequestException(code, message, Status);
    }
}
