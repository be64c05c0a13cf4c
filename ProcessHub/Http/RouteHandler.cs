namespace ProcessHub.Http;

/// <summary>Handles one routed request; it must answer through the exchange.</summary>
internal delegate ValueTask RouteHandler(HttpExchange exchange);
