namespace ProcessHub.Hub.Sessions;

/// <summary>Whether a new SSE stream may open, and if not which connection limit refused it.</summary>
internal enum StreamAdmission : byte
{
    Admitted,

    /// <summary>Past <c>--max-connections</c> (WebSockets and SSE streams in all).</summary>
    TooMany,

    /// <summary>Past <c>--max-connections-per-user</c> (the user's WebSockets and SSE streams).</summary>
    TooManyForUser,
}
