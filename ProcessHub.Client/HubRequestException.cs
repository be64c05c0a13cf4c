namespace ProcessHub.Client;

/// <summary>
/// The hub refused a request: an HTTP API error (<c>{"error":{"code","message"}}</c> with its status) or an
/// <c>error</c> reply on the WebSocket (no status).
/// </summary>
public sealed class HubRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HubRequestException(string code, string message, int? statusCode = null)
        : base(statusCode is { } status ? $"{status} {code}: {message}" : $"{code}: {message}")
    {
        Code = code;
        StatusCode = statusCode;
    }

    /// <summary>The hub's error code (<c>not_found</c>, <c>forbidden</c>, <c>conflict</c>, <c>rate_limited</c>, ...).</summary>
    public string Code { get; }

    /// <summary>The HTTP status; null for a WebSocket <c>error</c> reply.</summary>
    public int? StatusCode { get; }
}
