namespace ProcessHub.Tests.Hub;

/// <summary>The three ways a token reaches the hub (docs/protocol.md section 2), in the order the hub checks them.</summary>
public enum TokenPath
{
    Query,
    AuthorizationHeader,
    AuthMessage,
}
