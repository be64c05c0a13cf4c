namespace ProcessHub.Http;

/// <summary>
/// The router's answer: a handler with its path values, or why there is none (404 or 405). <c>Pipelined</c>: the
/// handler may run while earlier requests on the connection wait for the store (<see cref="Router.Map"/>).
/// </summary>
internal readonly record struct RouteMatch(RouteHandler? Handler, IReadOnlyDictionary<string, string> Values, bool PathExists, string? AllowedMethods, bool Pipelined);
