namespace ProcessHub.Hub;

/// <summary>
/// The owner already has as many running processes as <c>--max-processes-per-user</c> allows, so no process was
/// started. The HTTP API answers 429 <c>too_many_processes</c>; an in-process producer sees this exception. A start
/// succeeds again once one of the owner's processes has ended.
/// </summary>
public sealed class ProcessLimitException : Exception
{
    public ProcessLimitException(int limit)
        : base($"this owner already has {limit} running processes, the most allowed (--max-processes-per-user); end or cancel one first")
    {
        Limit = limit;
    }

    public ProcessLimitException()
        : base("this owner has too many running processes")
    {
    }

    public ProcessLimitException(string message)
        : base(message)
    {
    }

    public ProcessLimitException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The most running processes an owner may have.</summary>
    public int Limit { get; }
}
