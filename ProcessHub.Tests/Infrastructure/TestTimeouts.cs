namespace ProcessHub.Tests.Infrastructure;

/// <summary>
/// Every wait in the suite is bounded by one of these. They are deliberately generous: they only decide how long
/// a broken test takes to fail on a noisy shared machine, never whether a correct run passes.
/// </summary>
internal static class TestTimeouts
{
    /// <summary>One network wait: a frame, a response, the end of a connection.</summary>
    public static readonly TimeSpan Receive = TimeSpan.FromSeconds(10);

    /// <summary>A child process (the server binary, a Node client) doing its whole job.</summary>
    public static readonly TimeSpan Process = TimeSpan.FromSeconds(60);
}
