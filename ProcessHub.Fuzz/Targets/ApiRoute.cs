namespace ProcessHub.Fuzz.Targets;

/// <summary>
/// The routes of the HTTP API that read a JSON body, as byte 0 of an <c>api-body</c> input picks them (its value modulo
/// 5): the order is the input format, so the committed corpus depends on it.
/// </summary>
internal enum ApiRoute
{
    /// <summary><c>POST /api/processes</c>.</summary>
    Create,

    /// <summary><c>POST /api/processes/{id}/progress</c>.</summary>
    Progress,

    /// <summary><c>POST /api/processes/{id}/complete</c>, whose body may be empty.</summary>
    Complete,

    /// <summary><c>POST /api/processes/{id}/fail</c>.</summary>
    Fail,

    /// <summary><c>POST /api/benchmark</c>.</summary>
    Benchmark,
}
