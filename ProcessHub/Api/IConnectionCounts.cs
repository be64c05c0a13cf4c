namespace ProcessHub.Api;

/// <summary>What the connection server reports to /healthz and /metrics (implemented by the server below the API's composition).</summary>
internal interface IConnectionCounts
{
    /// <summary>WebSocket connections open.</summary>
    int OpenWebSockets { get; }

    /// <summary>TCP connections open: those still speaking HTTP plus the WebSockets.</summary>
    int OpenConnections { get; }

    /// <summary>TCP connections the open-file limit leaves room for at once; null where there is no limit to keep to.</summary>
    int? ConnectionCapacity { get; }

    /// <summary>Times the listener stopped accepting because it held as many connections as that.</summary>
    long TimesFull { get; }

    /// <summary>HTTP responses sent, by status code.</summary>
    ProcessHub.Http.HttpResponseCounts HttpResponses { get; }
}
