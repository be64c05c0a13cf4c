namespace ProcessHub.Http;

/// <summary>The router's answer: a handler with its path values, or why there is none (404 or 405).</summary>
internal readonly record struct RouteMatch(RouteHandler? Handler, IReadOnlyDictionary<string, string> Values, bool PathExists, string? AllowedMethods);
