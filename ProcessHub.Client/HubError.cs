using System.Text.Json;

namespace ProcessHub.Client;

/// <summary>
/// An <c>error</c> message: the hub refused a client message (<c>bad_request</c>, <c>not_found</c>,
/// <c>forbidden</c>, <c>conflict</c>, <c>rate_limited</c>, <c>unknown_type</c>, <c>unavailable</c>: docs/protocol.md
/// 3.8). The connection stays open.
/// </summary>
public sealed class HubError : HubEvent
{
    internal HubError(JsonElement json, string code, string message, string? requestId, string? processId)
        : base(json)
    {
        Code = code;
        Message = message;
        RequestId = requestId;
        ProcessId = processId;
    }

    /// <summary>The error code.</summary>
    public string Code { get; }

    /// <summary>A human-readable explanation.</summary>
    public string Message { get; }

    /// <summary>The refused message's <c>request_id</c>, when it had one.</summary>
    public string? RequestId { get; }

    /// <summary>The process the refused message named, when it named one.</summary>
    public string? ProcessId { get; }

    /// <inheritdoc/>
    public override string ToString() => $"error {Code}: {Message}";
}
